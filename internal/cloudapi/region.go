package cloudapi

// apiRegions are the regions the reference lists for the API's regional
// hosts (gaap.<region>.tencentcloudapi.com), finance regions included.
var apiRegions = map[string]bool{
	"ap-guangzhou": true, "ap-shanghai": true, "ap-nanjing": true, "ap-beijing": true, "ap-chengdu": true,
	"ap-chongqing": true, "ap-hongkong": true, "ap-singapore": true, "ap-jakarta": true, "ap-bangkok": true,
	"ap-seoul": true, "ap-tokyo": true, "na-ashburn": true, "na-siliconvalley": true, "sa-saopaulo": true,
	"eu-frankfurt": true, "ap-shanghai-fsi": true, "ap-shenzhen-fsi": true,
}
