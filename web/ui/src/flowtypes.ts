// Types of the JSON the mitmgo web server sends for flows (web/json.go,
// mitmproxy's flow_to_json) and for the other API answers.

/** An address as Python's (host, port) tuple. */
export type Address = [string, number];

/** A header list, in order, as [name, value] pairs. */
export type Headers = [string, string][];

export interface Certificate {
  keyinfo: [string, number];
  sha256: string;
  notbefore: number;
  notafter: number;
  serial: string;
  subject: [string, string][];
  issuer: [string, string][];
  altnames: string[];
}

export interface Connection {
  id: string;
  peername: Address | null;
  sockname: Address | null;
  tls_established: boolean;
  cert: Certificate | null;
  sni: string | null;
  cipher: string | null;
  alpn: string | null;
  tls_version: string | null;
  timestamp_start: number | null;
  timestamp_tls_setup: number | null;
  timestamp_end: number | null;
}

export type Client = Connection;

export interface Server extends Connection {
  address: Address | null;
  timestamp_tcp_setup: number | null;
}

export interface FlowError {
  msg: string;
  timestamp: number;
}

interface FlowBase {
  id: string;
  intercepted: boolean;
  /** "request" or "response" for a replayed flow, else null. */
  is_replay: "request" | "response" | string | null;
  modified: boolean;
  /** The marker's character ("" for none). */
  marked: string;
  comment: string;
  timestamp_created: number;
  client_conn?: Client;
  server_conn?: Server;
  error?: FlowError;
}

export interface HTTPMessageBase {
  http_version: string;
  headers: Headers;
  trailers?: Headers;
  /** Null when the body is absent (not merely empty). */
  contentLength: number | null;
  contentHash: string | null;
  timestamp_start: number;
  timestamp_end: number | null;
}

export interface HTTPRequest extends HTTPMessageBase {
  method: string;
  scheme: string;
  host: string;
  port: number;
  path: string;
  pretty_host: string;
}

export interface HTTPResponse extends HTTPMessageBase {
  status_code: number;
  reason: string;
}

export type HTTPMessage = HTTPRequest | HTTPResponse;

export interface MessagesMeta {
  contentLength: number;
  count: number;
  timestamp_last: number | null;
}

export interface WebSocketData {
  messages_meta: MessagesMeta;
  closed_by_client: boolean | null;
  close_code: number | null;
  close_reason: string | null;
  timestamp_end: number | null;
}

export interface HTTPFlow extends FlowBase {
  type: "http";
  request: HTTPRequest;
  response?: HTTPResponse;
  websocket?: WebSocketData;
}

export interface TCPFlow extends FlowBase {
  type: "tcp";
  messages_meta: MessagesMeta;
}

export interface UDPFlow extends FlowBase {
  type: "udp";
  messages_meta: MessagesMeta;
}

export interface DNSQuestion {
  name: string;
  type: string;
  class: string;
}

export interface DNSResourceRecord {
  name: string;
  type: string;
  class: string;
  ttl: number;
  data: string;
}

export interface DNSMessage {
  id: number;
  query: boolean;
  op_code: string;
  authoritative_answer: boolean;
  truncation: boolean;
  recursion_desired: boolean;
  recursion_available: boolean;
  response_code: string;
  questions: DNSQuestion[];
  answers: DNSResourceRecord[];
  authorities: DNSResourceRecord[];
  additionals: DNSResourceRecord[];
  timestamp: number | null;
}

export interface DNSFlow extends FlowBase {
  type: "dns";
  request: DNSMessage;
  response?: DNSMessage;
}

export type Flow = HTTPFlow | TCPFlow | UDPFlow | DNSFlow;

/** One content view rendering (GET /flows/<id>/<part>/content/<view>.json). */
export interface ContentViewData {
  text: string;
  view_name: string;
  syntax_highlight: string;
  description: string;
  /** Set for each message of a WebSocket/TCP/UDP flow. */
  from_client?: boolean;
  timestamp?: number;
}

/** The type names of options (addon.Kind.String()). */
export type OptionType =
  | "bool"
  | "int"
  | "str"
  | "optional str"
  | "optional int"
  | "sequence of str"
  | string;

export interface Option {
  type: OptionType;
  default: unknown;
  value: unknown;
  help: string;
  choices: string[] | null;
}

export type Options = Record<string, Option>;

export interface CommandParameter {
  name: string;
  type: string;
  kind: "POSITIONAL_OR_KEYWORD" | "VAR_POSITIONAL" | string;
}

export interface CommandInfo {
  help: string;
  parameters: CommandParameter[];
  return_type: string | null;
  signature_help: string;
}

export type Commands = Record<string, CommandInfo>;

/** The answer of POST /commands/<cmd>: a value or an error. */
export interface CommandResult {
  value?: unknown;
  error?: string;
}

export interface EventEntry {
  id: number;
  message: string;
  level: "debug" | "info" | "alert" | "warn" | "error" | string;
}

export interface ServerSpec {
  type: string;
  description: string;
  full_spec: string;
  is_running: boolean;
  last_exception: string | null;
  listen_addrs: Address[] | null;
}

export interface BackendState {
  version: string;
  contentViews: string[];
  servers: Record<string, ServerSpec>;
  platform: string;
  localModeUnavailable: string | null;
}

/** The messages of the /updates WebSocket. */
export type UpdateMessage =
  | { type: "flows/add" | "flows/update"; payload: { flow: Flow; matching_filters: Record<string, boolean> } }
  | { type: "flows/remove"; payload: string }
  | { type: "flows/reset"; payload?: undefined }
  | { type: "flows/filterUpdate"; payload: { name: string; matching_flow_ids: string[] | null } }
  | { type: "events/add"; payload: EventEntry }
  | { type: "events/reset"; payload?: undefined }
  | { type: "options/update"; payload: Options }
  | { type: "state/update"; payload: Partial<BackendState> };

/** Edit of a flow (PUT /flows/<id>); only the fields given change. */
export interface FlowUpdate {
  request?: Partial<{
    method: string;
    scheme: string;
    host: string;
    port: number;
    path: string;
    http_version: string;
    headers: Headers;
    trailers: Headers;
    content: string;
  }>;
  response?: Partial<{
    code: number;
    reason: string;
    http_version: string;
    headers: Headers;
    trailers: Headers;
    content: string;
  }>;
  marked?: string;
  comment?: string;
}

export function isHTTP(f: Flow): f is HTTPFlow {
  return f.type === "http";
}
