package gaap

import "fmt"

// countryZone is one geographical zone of the built-in country table.
// Countries get NationCountryInnerCode zone+index (1-based), the shape of
// Tencent's codes: Fiji Islands is 401012 in Oceania (401000, 400000).
type countryZone struct {
	code, name, continent, continentName string
	countries                            []string
}

var countryZones = []countryZone{
	{zoneMainland, "Mainland China", contAsia, "Asia", []string{
		"North China", "East China", "South China", "West China", "Central China", "Northeast China", "Northwest China"}},
	{zoneEastAsia, "East Asia", contAsia, "Asia", []string{
		"Hong Kong, China", "Macao, China", "Taiwan, China", "Japan", "South Korea", "Mongolia"}},
	{zoneSEAsia, "Southeast Asia", contAsia, "Asia", []string{
		"Singapore", "Malaysia", "Thailand", "Indonesia", "Philippines", "Vietnam", "Cambodia", "Laos", "Myanmar", "Brunei"}},
	{zoneSouthAsia, "South Asia", contAsia, "Asia", []string{
		"India", "Pakistan", "Bangladesh", "Sri Lanka", "Nepal", "Maldives"}},
	{zoneWestAsia, "West Asia", contAsia, "Asia", []string{
		"United Arab Emirates", "Saudi Arabia", "Turkey", "Israel", "Qatar", "Kuwait", "Iran", "Iraq", "Kazakhstan"}},
	{zoneWEurope, "Western Europe", contEurope, "Europe", []string{
		"Germany", "France", "United Kingdom", "Netherlands", "Belgium", "Switzerland", "Austria", "Ireland",
		"Spain", "Portugal", "Italy", "Sweden", "Norway", "Denmark", "Finland"}},
	{zoneEEurope, "Eastern Europe", contEurope, "Europe", []string{
		"Russia", "Poland", "Czech Republic", "Hungary", "Romania", "Ukraine", "Bulgaria", "Greece"}},
	{zoneNAmerica, "North America", contNAmerica, "North America", []string{
		"United States", "Canada", "Mexico"}},
	{zoneCAmerica, "Central America and Caribbean", contNAmerica, "North America", []string{
		"Panama", "Costa Rica", "Guatemala", "Cuba", "Dominican Republic", "Jamaica"}},
	{zoneOceania, "Oceania", contOceania, "Oceania", []string{
		"Australia", "New Zealand", "Papua New Guinea", "Solomon Islands", "Vanuatu", "New Caledonia",
		"French Polynesia", "Samoa", "Tonga", "Kiribati", "Micronesia", "Fiji Islands"}},
	{zoneSAmerica, "South America", contSAmerica, "South America", []string{
		"Brazil", "Argentina", "Chile", "Colombia", "Peru", "Venezuela", "Ecuador", "Uruguay"}},
	{zoneNAfrica, "North Africa", contAfrica, "Africa", []string{
		"Egypt", "Morocco", "Algeria", "Tunisia", "Libya"}},
	{zoneSAfrica, "Sub-Saharan Africa", contAfrica, "Africa", []string{
		"South Africa", "Nigeria", "Kenya", "Ethiopia", "Ghana", "Tanzania", "Angola"}},
}

// defaultCountries expands countryZones into the mapping table.
func defaultCountries() []Country {
	var out []Country
	for _, z := range countryZones {
		var zone int
		fmt.Sscan(z.code, &zone)
		for i, name := range z.countries {
			out = append(out, Country{Code: fmt.Sprint(zone + i + 1), Name: name, ZoneCode: z.code,
				ZoneName: z.name, ContinentCode: z.continent, ContinentName: z.continentName})
		}
	}
	return out
}
