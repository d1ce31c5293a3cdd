// Package statuscodes holds mitmproxy's table of HTTP reason phrases
// (mitmproxy/net/http/status_codes.py), which Response.make, the HAR
// importer and the dumper (for HTTP/2 and HTTP/3, which carry no reason)
// use. flow.ReasonPhrase is its public face; flowfile, which flow's tests
// import, reads it here.
package statuscodes

// reasons is mitmproxy's RESPONSES. It differs from net/http's StatusText
// in wording ("Request Time-out", "Payload Too Large", ...) and in the codes
// it knows.
var reasons = map[int]string{
	100: "Continue", 101: "Switching Protocols", 102: "Processing", 103: "Early Hints",
	200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information",
	204: "No Content", 205: "Reset Content.", 206: "Partial Content", 207: "Multi-Status",
	300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other",
	304: "Not Modified", 305: "Use Proxy", 307: "Temporary Redirect",
	400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden",
	404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
	407: "Proxy Authentication Required", 408: "Request Time-out", 409: "Conflict", 410: "Gone",
	411: "Length Required", 412: "Precondition Failed", 413: "Payload Too Large",
	414: "Request-URI Too Long", 415: "Unsupported Media Type",
	416: "Requested Range not satisfiable", 417: "Expectation Failed", 418: "I'm a teapot",
	444: "No Response", 499: "Client Closed Request",
	500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
	503: "Service Unavailable", 504: "Gateway Time-out", 505: "HTTP Version not supported",
	507: "Insufficient Storage Space", 510: "Not Extended",
}

// Reason is mitmproxy's reason phrase for status, "" when the table has
// none (status_codes.RESPONSES.get(status, "")). mitmproxy's table has no
// 308 Permanent Redirect: that code gets "".
func Reason(status int) string { return reasons[status] }
