package apierr

//go:generate go run ../cloudapi/specgen -mode codes -out zz_generated_codes.go ../../spec/gaap-2018-05-29.json
