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

// Common str values of flow state, boxed once: a decoded value that equals
// one of them costs no allocation. Strings are immutable, so sharing them
// between flows is safe.
var valueTable = func() *[256][]any {
	vals := []string{"", "http", "tcp", "udp", "dns", "regular", "transparent", "socks5", "upstream",
		"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", "QUICv1", "127.0.0.1", "::1", ":default:",
		"request", "response", "TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
		"TLS_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
		"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384"}
	var t [256][]any
	for _, v := range vals {
		h := internHash(v)
		t[h] = append(t[h], any(v))
	}
	return &t
}()

// emptyBytes is a shared, boxed empty []byte. With a capacity of zero,
// appending to it allocates, so sharing it is safe.
var emptyBytes any = []byte{}

// internValue returns the boxed common value equal to b, if there is one.
func internValue(b []byte) (any, bool) {
	for _, v := range valueTable[internHash(b)] {
		if v.(string) == string(b) {
			return v, true
		}
	}
	return nil, false
}
