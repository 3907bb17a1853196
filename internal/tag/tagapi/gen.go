// Package tagapi holds the generated wire types and action table of the
// tag (tag 2018-08-13) actions opengaap serves. Only gen.go is written by hand.
package tagapi

//go:generate go run ../../cloudapi/specgen -mode api -pkg tagapi -out zz_generated_api.go ../../../spec/tag-2018-08-13.json
