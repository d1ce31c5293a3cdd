package websocket

import (
	"errors"
	"strconv"
)

// Close codes (RFC 6455 section 7.4.1, and the two IANA added that wsproto
// knows).
const (
	CloseNormal             = 1000
	CloseGoingAway          = 1001
	CloseProtocolError      = 1002
	CloseUnsupportedData    = 1003
	CloseNoStatus           = 1005
	CloseAbnormal           = 1006
	CloseInvalidPayload     = 1007
	ClosePolicyViolation    = 1008
	CloseMessageTooBig      = 1009
	CloseMandatoryExtension = 1010
	CloseInternalError      = 1011
	CloseServiceRestart     = 1012
	CloseTryAgainLater      = 1013
	CloseTLSHandshake       = 1015
)

// closeNames are wsproto's names for the codes it knows.
var closeNames = map[int]string{
	CloseNormal: "NORMAL_CLOSURE", CloseGoingAway: "GOING_AWAY", CloseProtocolError: "PROTOCOL_ERROR",
	CloseUnsupportedData: "UNSUPPORTED_DATA", CloseNoStatus: "NO_STATUS_RCVD", CloseAbnormal: "ABNORMAL_CLOSURE",
	CloseInvalidPayload: "INVALID_FRAME_PAYLOAD_DATA", ClosePolicyViolation: "POLICY_VIOLATION",
	CloseMessageTooBig: "MESSAGE_TOO_BIG", CloseMandatoryExtension: "MANDATORY_EXT",
	CloseInternalError: "INTERNAL_ERROR", CloseServiceRestart: "SERVICE_RESTART",
	CloseTryAgainLater: "TRY_AGAIN_LATER", CloseTLSHandshake: "TLS_HANDSHAKE_FAILED",
}

// CloseCodeName is wsproto's name for a close code ("NORMAL_CLOSURE"), and
// "UNKNOWN_ERROR=<code>" for one it does not know, as mitmproxy prints them.
func CloseCodeName(code int) string {
	if s, ok := closeNames[code]; ok {
		return s
	}
	return "UNKNOWN_ERROR=" + strconv.Itoa(code)
}

// localOnly are the codes that say something about the connection itself
// and are never sent in a close frame.
func localOnly(code int) bool {
	return code == CloseNoStatus || code == CloseAbnormal || code == CloseTLSHandshake
}

// ProtocolError is a peer's violation of the protocol: the connection must
// be closed with Code, giving Reason (wsproto's message).
type ProtocolError struct {
	Code   int
	Reason string
}

func (e *ProtocolError) Error() string {
	return "websocket: " + e.Reason + " (" + CloseCodeName(e.Code) + ")"
}

func protocolError(code int, reason string) *ProtocolError {
	return &ProtocolError{Code: code, Reason: reason}
}

// ErrClosed is returned by a Writer once it has sent a close frame, and by
// a Reader once it has read one.
var ErrClosed = errors.New("websocket: the close frame has been sent or received")

// errExtension is wsproto's reason when an extension refuses a frame.
const errExtension = "error in extension"
