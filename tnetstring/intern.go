package tnetstring

// keyTable holds the dict keys of mitmproxy's flow state, so that decoding
// a flow does not allocate a new string for each of them.
var keyTable = func() *internTable {
	keys := []string{"version", "type", "id", "error", "client_conn", "server_conn", "intercepted",
		"is_replay", "marked", "metadata", "comment", "timestamp_created", "backup",
		"request", "response", "websocket", "messages", "msg", "timestamp",
		"peername", "sockname", "transport_protocol", "tls", "certificate_list", "alpn",
		"alpn_offers", "cipher", "cipher_list", "tls_version", "sni", "timestamp_start",
		"timestamp_end", "timestamp_tls_setup", "mitmcert", "proxy_mode", "address",
		"timestamp_tcp_setup", "via", "http_version", "headers", "content", "trailers",
		"host", "port", "method", "scheme", "authority", "path", "status_code", "reason",
		"closed_by_client", "close_code", "close_reason", "state", "cipher_name",
		"tls_established", "tls_extensions", "ip_address", "source_address", "via2",
		"query", "op_code", "authoritative_answer", "truncation", "recursion_desired",
		"recursion_available", "reserved", "response_code", "questions", "answers",
		"authorities", "additionals", "name", "class_", "ttl", "data", "mode",
		"clientcert", "cert", "alpn_proto_negotiated", "first_line_format",
		"ssl_established", "timestamp_ssl_setup",
	}
	t := &internTable{}
	for _, k := range keys {
		h := internHash(k)
		t.slots[h] = append(t.slots[h], k)
	}
	return t
}()

// internTable is a fixed hash table of the known keys; looking a key up
// costs a few byte operations and one comparison, and no allocation.
type internTable struct {
	slots [256][]string
}

func internHash[T string | []byte](b T) uint8 {
	n := len(b)
	if n == 0 {
		return 0
	}
	return uint8(n*31 + int(b[0])*7 + int(b[n/2])*3 + int(b[n-1]))
}

func internKey(b []byte) string {
	for _, s := range keyTable.slots[internHash(b)] {
		if s == string(b) {
			return s
		}
	}
	return string(b)
}
