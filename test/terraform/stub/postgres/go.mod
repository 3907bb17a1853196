module github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/postgres

go 1.17

require github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common v1.0.1196
