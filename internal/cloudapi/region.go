package cloudapi

import "github.com/opengaap/opengaap/internal/apierr"

// apiRegions are the regions the reference lists for the API's regional
// hosts (gaap.<region>.tencentcloudapi.com), finance regions included.
var apiRegions = map[string]bool{
	"ap-guangzhou": true, "ap-shanghai": true, "ap-nanjing": true, "ap-beijing": true, "ap-chengdu": true,
	"ap-chongqing": true, "ap-hongkong": true, "ap-singapore": true, "ap-jakarta": true, "ap-bangkok": true,
	"ap-seoul": true, "ap-tokyo": true, "na-ashburn": true, "na-siliconvalley": true, "sa-saopaulo": true,
	"eu-frankfurt": true, "ap-shanghai-fsi": true, "ap-shenzhen-fsi": true,
}

// checkRegion applies a service's Region requirement: one of apiRegions,
// which is also the list the vpc reference gives.
func checkRegion(svc *Service, region string) error {
	switch {
	case !svc.RegionRequired:
		return nil
	case region == "":
		return apierr.New(apierr.MissingParameter, "the Region parameter (X-TC-Region) is required by %s", svc.Name)
	case !apiRegions[region]:
		return apierr.New(apierr.UnsupportedRegion, "%s does not support the region %q", svc.Name, region)
	}
	return nil
}
