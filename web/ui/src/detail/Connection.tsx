// The Connection and Timing tabs.
import type { Certificate, Client, Flow, Server } from "../flowtypes";
import { formatAddress, formatTimeStamp } from "../format";
import { timingRows } from "./tabs";

function Row({ k, v }: { k: string; v: unknown }) {
  if (v === null || v === undefined || v === "") return null;
  return (
    <tr>
      <td class="fd-key">{k}:</td>
      <td>{String(v)}</td>
    </tr>
  );
}

function dn(pairs: [string, string][]): string {
  return pairs.map(([k, v]) => `${k}=${v}`).join(", ");
}

function CertView({ cert, title }: { cert: Certificate; title: string }) {
  return (
    <>
      <h5>{title}</h5>
      <table class="fd-kv">
        <tbody>
          <Row k="Type" v={`${cert.keyinfo[0]}, ${cert.keyinfo[1]} bits`} />
          <Row k="SHA256 digest" v={cert.sha256} />
          <Row k="Valid from" v={formatTimeStamp(cert.notbefore, false)} />
          <Row k="Valid to" v={formatTimeStamp(cert.notafter, false)} />
          <Row k="Subject Alternative Names" v={cert.altnames.join(", ")} />
          <Row k="Subject" v={dn(cert.subject)} />
          <Row k="Issuer" v={dn(cert.issuer)} />
          <Row k="Serial" v={cert.serial} />
        </tbody>
      </table>
    </>
  );
}

function ConnInfo({ conn, server }: { conn: Client | Server; server?: boolean }) {
  const s = server ? (conn as Server) : undefined;
  return (
    <table class="fd-kv">
      <tbody>
        {s ? (
          <>
            <Row k="Address" v={s.address && formatAddress(s.address)} />
            <Row k="Resolved address" v={s.peername && formatAddress(s.peername)} />
            <Row k="Source address" v={s.sockname && formatAddress(s.sockname)} />
          </>
        ) : (
          <>
            <Row k="Address" v={conn.peername && formatAddress(conn.peername)} />
            <Row k="Proxy address" v={conn.sockname && formatAddress(conn.sockname)} />
          </>
        )}
        <Row k="TLS" v={conn.tls_established ? "yes" : "no"} />
        <Row k="TLS version" v={conn.tls_version} />
        <Row k="Cipher" v={conn.cipher} />
        <Row k="ALPN" v={conn.alpn} />
        <Row k="Server Name Indication" v={conn.sni} />
      </tbody>
    </table>
  );
}

export function ConnectionTab({ flow }: { flow: Flow }) {
  return (
    <section class="fd-connection">
      <h4>Client connection</h4>
      {flow.client_conn ? <ConnInfo conn={flow.client_conn} /> : <div class="fd-muted">—</div>}
      {flow.client_conn?.cert && <CertView cert={flow.client_conn.cert} title="Client certificate" />}
      <h4>Server connection</h4>
      {flow.server_conn ? <ConnInfo conn={flow.server_conn} server /> : <div class="fd-muted">—</div>}
      {flow.server_conn?.cert && <CertView cert={flow.server_conn.cert} title="Server certificate" />}
    </section>
  );
}

export function TimingTab({ flow }: { flow: Flow }) {
  const rows = timingRows(flow);
  const t0 = rows[0]?.t ?? flow.timestamp_created;
  return (
    <section class="fd-timing">
      <table class="fd-kv">
        <tbody>
          {rows.map((r) => (
            <tr key={r.label}>
              <td class="fd-key">{r.label}:</td>
              <td>{formatTimeStamp(r.t)}</td>
              <td class="fd-muted">{r.t === t0 ? "" : `+${Math.round((r.t - t0) * 1000)}ms`}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
