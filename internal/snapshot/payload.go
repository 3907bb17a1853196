package snapshot

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// decodePayload turns health-check payloads into bytes. HEX payloads may
// contain spaces ("de ad be ef") because consoles tend to show them so.
func decodePayload(contextType, send, recv string) ([]byte, []byte, error) {
	switch contextType {
	case "", TextPlain:
		return []byte(send), []byte(recv), nil
	case TextHex:
		s, err := hex.DecodeString(strings.ReplaceAll(send, " ", ""))
		if err != nil {
			return nil, nil, fmt.Errorf("send: %w", err)
		}
		r, err := hex.DecodeString(strings.ReplaceAll(recv, " ", ""))
		if err != nil {
			return nil, nil, fmt.Errorf("recv: %w", err)
		}
		return s, r, nil
	}
	return nil, nil, fmt.Errorf("context type %q: want TEXT or HEX", contextType)
}
