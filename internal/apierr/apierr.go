// Package apierr holds the one error type that reaches the wire: a Tencent
// Cloud error code with a message written for a human. Everything else that
// goes wrong inside the server is an internal cause, logged and never shown.
package apierr

import (
	"errors"
	"fmt"
)

// Code is a Tencent Cloud API 3.0 error code such as "InvalidParameter" or
// "FailedOperation.ProxyStatusNotInRuning".
type Code string

// Error is an API error. Msg is public; Cause is for logs only.
type Error struct {
	Code  Code
	Msg   string
	Cause error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s (%v)", e.Code, e.Msg, e.Cause)
	}
	return string(e.Code) + ": " + e.Msg
}

// Unwrap exposes the internal cause to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Cause }

// New returns an error with code and a formatted public message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Wrap returns an error with code and message that keeps cause for logs.
func Wrap(cause error, code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...), Cause: cause}
}

// Internal hides cause behind InternalError: the client sees a generic message.
func Internal(cause error) *Error {
	return &Error{Code: InternalError, Msg: "an internal error occurred; retry later", Cause: cause}
}

// From converts any error into an *Error: API errors pass through (even when
// wrapped), everything else becomes InternalError.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

// Is reports whether err is an API error with the given code.
func Is(err error, code Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Localize returns the message for lang ("zh-CN" or anything else for
// English). Chinese messages lead with the code's documented description,
// so a human reads the category in their language and the detail after it.
func (e *Error) Localize(lang string) string {
	if lang != "zh-CN" {
		return e.Msg
	}
	if zh, ok := descriptionsZh[e.Code]; ok {
		return zh + " " + e.Msg
	}
	return e.Msg
}
