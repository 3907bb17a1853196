// Package teoapi holds the generated wire types and action table of the
// EdgeOne (teo 2022-09-01) layer-4 family. Only gen.go is written by hand.
package teoapi

//go:generate go run ../../cloudapi/specgen -mode api -pkg teoapi -out zz_generated_api.go -family ../../../spec/teo-2022-09-01-l4-family.json ../../../spec/teo-2022-09-01-l4.json
