// Package vpcapi holds the generated wire types and action table of the VPC
// (vpc 2017-03-12) VPC and traffic-mirror family. Only gen.go is written by hand.
package vpcapi

//go:generate go run ../../cloudapi/specgen -mode api -pkg vpcapi -out zz_generated_api.go -family ../../../spec/vpc-2017-03-12-mirror-family.json ../../../spec/vpc-2017-03-12-trafficmirror.json
