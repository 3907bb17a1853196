package apierr

//go:generate go run ../cloudapi/specgen -mode codes -out zz_generated_codes.go ../../spec/gaap-2018-05-29.json ../../spec/teo-2022-09-01-l4.json ../../spec/vpc-2017-03-12-trafficmirror.json ../../spec/tag-2018-08-13.json
