// Package gaapapi holds the generated wire types and action table of GAAP
// 2018-05-29. Only gen.go is written by hand.
package gaapapi

//go:generate go run ../../cloudapi/specgen -mode api -pkg gaapapi -out zz_generated_api.go ../../../spec/gaap-2018-05-29.json
