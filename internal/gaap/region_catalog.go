package gaap

// The built-in region catalogue: Tencent's GAAP region IDs (the legacy
// mainland areas SouthChina/EastChina/NorthChina/SouthwestChina, their
// cities, and the overseas regions of DescribeRegionAndPrice's example),
// with the names and areas Tencent reports for them. Their features
// (IPv6, network types) follow docs/api-proxies.md; FeatureBitmap is
// derived from them (Region.features).

// Continent and zone codes of the country table (region_countries.go).
const (
	contAsia     = "100000"
	contEurope   = "200000"
	contNAmerica = "300000"
	contOceania  = "400000"
	contSAmerica = "500000"
	contAfrica   = "600000"

	zoneMainland  = "101000"
	zoneEastAsia  = "102000"
	zoneSEAsia    = "103000"
	zoneSouthAsia = "104000"
	zoneWestAsia  = "105000"
	zoneWEurope   = "201000"
	zoneEEurope   = "202000"
	zoneNAmerica  = "301000"
	zoneCAmerica  = "302000"
	zoneOceania   = "401000"
	zoneSAmerica  = "501000"
	zoneNAfrica   = "601000"
	zoneSAfrica   = "602000"
)

// areaNamesEn are the English names of the catalogue's areas.
var areaNamesEn = map[string]string{
	"SouthChina": "Chinese Mainland - South China", "EastChina": "Chinese Mainland - East China",
	"NorthChina": "Chinese Mainland - North China", "SouthwestChina": "Chinese Mainland - Southwest China",
	"Asia": "Asia", "Europe": "Europe", "NorthAmerica": "North America",
}

// mainland returns a mainland-China region.
func mainland(id, name, nameEn, area, areaName string) Region {
	return Region{ID: id, Name: name, NameEn: nameEn, Area: area, AreaName: areaName, AreaNameEn: areaNamesEn[area], IDCType: "dc",
		NetworkTypes: []string{"normal", "cn2"}, IPv6: true, Mainland: true,
		ZoneCode: zoneMainland, ContinentCode: contAsia}
}

// overseas returns a region outside mainland China.
func overseas(id, name, nameEn, area, areaName, zone, continent string) Region {
	return Region{ID: id, Name: name, NameEn: nameEn, Area: area, AreaName: areaName, AreaNameEn: areaNamesEn[area], IDCType: "dc",
		NetworkTypes: []string{"normal"}, ZoneCode: zone, ContinentCode: continent,
		PriceFactor: 1.5}
}

func mainlandRegions() []Region {
	return []Region{
		mainland("SouthChina", "中国大陆-华南", "South China", "SouthChina", "中国大陆-华南"),
		mainland("EastChina", "中国大陆-华东", "East China", "EastChina", "中国大陆-华东"),
		mainland("NorthChina", "中国大陆-华北", "North China", "NorthChina", "中国大陆-华北"),
		mainland("SouthwestChina", "中国大陆-西南", "Southwest China", "SouthwestChina", "中国大陆-西南"),
		mainland("Guangzhou", "广州", "Guangzhou", "SouthChina", "中国大陆-华南"),
		mainland("Shanghai", "上海", "Shanghai", "EastChina", "中国大陆-华东"),
		mainland("Beijing", "北京", "Beijing", "NorthChina", "中国大陆-华北"),
		mainland("Chengdu", "成都", "Chengdu", "SouthwestChina", "中国大陆-西南"),
		mainland("Chongqing", "重庆", "Chongqing", "SouthwestChina", "中国大陆-西南"),
	}
}

func overseasRegions() []Region {
	hk := overseas("Hongkong", "中国香港", "Hong Kong, China", "Asia", "亚洲", zoneEastAsia, contAsia)
	hk.IPv6 = true
	return []Region{
		hk,
		overseas("Taipei", "中国台北", "Taipei, China", "Asia", "亚洲", zoneEastAsia, contAsia),
		overseas("SoutheastAsia", "新加坡", "Singapore", "Asia", "亚洲", zoneSEAsia, contAsia),
		overseas("Thailand", "泰国曼谷", "Bangkok", "Asia", "亚洲", zoneSEAsia, contAsia),
		overseas("Korea", "韩国首尔", "Seoul", "Asia", "亚洲", zoneEastAsia, contAsia),
		overseas("Japan", "日本东京", "Tokyo", "Asia", "亚洲", zoneEastAsia, contAsia),
		overseas("WestIndia", "印度西部孟买", "Mumbai", "Asia", "亚洲", zoneSouthAsia, contAsia),
		overseas("Europe", "德国法兰克福", "Frankfurt", "Europe", "欧洲", zoneWEurope, contEurope),
		overseas("NorthAmerica", "美国西部硅谷", "Silicon Valley", "NorthAmerica", "北美洲", zoneNAmerica, contNAmerica),
		overseas("Virginia", "美国东部弗吉尼亚", "Virginia", "NorthAmerica", "北美洲", zoneNAmerica, contNAmerica),
	}
}

// defaultAccessRegions: every region accepts clients.
func defaultAccessRegions() []Region { return append(mainlandRegions(), overseasRegions()...) }

// defaultDestRegions: every region hosts origins.
func defaultDestRegions() []Region { return append(mainlandRegions(), overseasRegions()...) }
