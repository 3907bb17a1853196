package tfcheck

// More tests: the GAAP resources and data sources (and the optional fields
// of the covered ones) that TestGaap does not drive. Each Test* drives one
// resource family through Create → Read → empty plan → Update → Read →
// empty plan → Delete with the harness of harness_test.go; a failure is the
// provider error / drift with the last wire exchanges.

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/tencentcloudstack/terraform-provider-tencentcloud/tencentcloud/services/gaap"
)

// shared fixtures: one proxy and two realservers, created on first use and
// left for the throwaway server (a proxy Delete waits until it is 2 minutes
// old; TestGaap covers it).
var (
	fxOnce  sync.Once
	fxProxy string
	fxRS    [2]string
	fxErr   string
)

func fixtures(t *testing.T) (string, [2]string) {
	t.Helper()
	fxOnce.Do(func() {
		p := newRes(t, "fixture proxy", gaap.ResourceTencentCloudGaapProxy(), map[string]interface{}{
			"name": "tf-review", "project_id": 0, "bandwidth": 10, "concurrent": 2,
			"access_region": "SouthChina", "realserver_region": "NorthChina", "enable": true,
		})
		if !p.create() {
			fxErr = "proxy"
			return
		}
		fxProxy = p.state.ID
		for i, ip := range []string{"127.0.0.1", "127.0.0.2"} {
			rs := newRes(t, "fixture realserver", gaap.ResourceTencentCloudGaapRealserver(), map[string]interface{}{
				"ip": ip, "name": fmt.Sprintf("tf-review-rs%d", i), "project_id": 0,
			})
			if !rs.create() {
				fxErr = "realserver"
				return
			}
			fxRS[i] = rs.state.ID
		}
	})
	if fxErr != "" {
		t.Fatalf("fixture %s could not be created", fxErr)
	}
	return fxProxy, fxRS
}

type certSet struct{ server, server2, client, client2, rsCA, proxy, basic string }

var (
	certOnce sync.Once
	certs    certSet
	certErr  bool
)

func certificates(t *testing.T) certSet {
	t.Helper()
	certOnce.Do(func() {
		mk := func(typ, content, key, name string) string {
			cfg := map[string]interface{}{"type": typ, "content": content, "name": name}
			if key != "" {
				cfg["key"] = key
			}
			c := newRes(t, "tencentcloud_gaap_certificate "+typ, gaap.ResourceTencentCloudGaapCertificate(), cfg)
			if !c.create() {
				certErr = true
				return ""
			}
			return c.state.ID
		}
		s1, k1 := selfSigned(t, "secure.tfcheck.test")
		s2, k2 := selfSigned(t, "secure.tfcheck.test")
		ca1, _ := selfSigned(t, "client-ca-1")
		ca2, _ := selfSigned(t, "client-ca-2")
		rca, _ := selfSigned(t, "origin-ca")
		pc, pk := selfSigned(t, "gaap-proxy")
		certs.server = mk("SERVER", s1, k1, "tf-srv")
		certs.server2 = mk("SERVER", s2, k2, "tf-srv2")
		certs.client = mk("CLIENT", ca1, "", "tf-ca1")
		certs.client2 = mk("CLIENT", ca2, "", "tf-ca2")
		certs.rsCA = mk("REALSERVER", rca, "", "tf-rsca")
		certs.proxy = mk("PROXY", pc, pk, "tf-proxycert")
		certs.basic = mk("BASIC", "test:tx2KGdo3zJg/.", "", "tf-basic")
	})
	if certErr {
		t.Fatal("certificates could not be created")
	}
	return certs
}

// TestLayer4UDP: a UDP listener with every optional field (health check
// by PORT with TEXT probe, thresholds, lc scheduler, bound realservers).
func TestLayer4UDP(t *testing.T) {
	proxyID, rs := fixtures(t)
	cfg := map[string]interface{}{
		"protocol": "UDP", "name": "tf-udp", "port": 18100, "scheduler": "lc", "realserver_type": "IP",
		"proxy_id": proxyID, "health_check": true, "interval": 10, "connect_timeout": 3,
		"healthy_threshold": 2, "unhealthy_threshold": 3,
		"check_type": "PORT", "check_port": 18101, "context_type": "TEXT", "send_context": "ping", "recv_context": "pong",
		"realserver_bind_set": []interface{}{
			map[string]interface{}{"id": rs[0], "ip": "127.0.0.1", "port": 18110, "weight": 1},
			map[string]interface{}{"id": rs[1], "ip": "127.0.0.2", "port": 18111, "weight": 1},
		},
	}
	l := newRes(t, "tencentcloud_gaap_layer4_listener UDP", gaap.ResourceTencentCloudGaapLayer4Listener(), cfg)
	if !l.create() {
		return
	}
	l.update(with(cfg, map[string]interface{}{"name": "tf-udp-2", "scheduler": "wrr", "interval": 20, "connect_timeout": 5,
		"healthy_threshold": 4, "unhealthy_threshold": 5, "send_context": "hello", "recv_context": "world", "check_port": 18102,
		"realserver_bind_set": []interface{}{
			map[string]interface{}{"id": rs[0], "ip": "127.0.0.1", "port": 18110, "weight": 3},
			map[string]interface{}{"id": rs[1], "ip": "127.0.0.2", "port": 18111, "weight": 7},
		}}))
	l.update(without(l.cfg, "realserver_bind_set"))
	l.destroy()
}

// TestLayer4UDPPing: UDP health check by PING.
func TestLayer4UDPPing(t *testing.T) {
	proxyID, _ := fixtures(t)
	cfg := map[string]interface{}{
		"protocol": "UDP", "name": "tf-udp-ping", "port": 18103, "scheduler": "rr", "realserver_type": "IP",
		"proxy_id": proxyID, "health_check": true, "check_type": "PING",
	}
	l := newRes(t, "tencentcloud_gaap_layer4_listener UDP PING", gaap.ResourceTencentCloudGaapLayer4Listener(), cfg)
	if !l.create() {
		return
	}
	l.update(with(cfg, map[string]interface{}{"health_check": false}))
	l.destroy()
}

// TestLayer4TCPFull: a TCP listener with health check, thresholds,
// Proxy Protocol (client_ip_method 1), wrr with weights.
func TestLayer4TCPFull(t *testing.T) {
	proxyID, rs := fixtures(t)
	cfg := map[string]interface{}{
		"protocol": "TCP", "name": "tf-tcp-full", "port": 18104, "scheduler": "wrr", "realserver_type": "IP",
		"proxy_id": proxyID, "health_check": true, "interval": 11, "connect_timeout": 4,
		"healthy_threshold": 3, "unhealthy_threshold": 5, "client_ip_method": 1,
		"realserver_bind_set": []interface{}{
			map[string]interface{}{"id": rs[0], "ip": "127.0.0.1", "port": 18112, "weight": 3},
			map[string]interface{}{"id": rs[1], "ip": "127.0.0.2", "port": 18113, "weight": 7},
		},
	}
	l := newRes(t, "tencentcloud_gaap_layer4_listener TCP full", gaap.ResourceTencentCloudGaapLayer4Listener(), cfg)
	if !l.create() {
		return
	}
	l.update(with(cfg, map[string]interface{}{"scheduler": "lc", "health_check": false, "interval": 30, "connect_timeout": 10,
		"healthy_threshold": 10, "unhealthy_threshold": 10}))
	l.update(without(l.cfg, "realserver_bind_set"))
	l.destroy()
}

// TestLayer4TCPDomain: DOMAIN realserver type.
func TestLayer4TCPDomain(t *testing.T) {
	proxyID, _ := fixtures(t)
	rsCfg := map[string]interface{}{"domain": "origin.tfcheck.test", "name": "tf-rs-dom", "project_id": 0}
	r := newRes(t, "tencentcloud_gaap_realserver domain", gaap.ResourceTencentCloudGaapRealserver(), rsCfg)
	if !r.create() {
		return
	}
	defer r.destroy()
	cfg := map[string]interface{}{
		"protocol": "TCP", "name": "tf-tcp-dom", "port": 18105, "scheduler": "lc", "realserver_type": "DOMAIN",
		"proxy_id": proxyID, "health_check": false, "client_ip_method": 0,
		"realserver_bind_set": []interface{}{map[string]interface{}{"id": r.state.ID, "ip": "origin.tfcheck.test", "port": 18114, "weight": 1}},
	}
	l := newRes(t, "tencentcloud_gaap_layer4_listener TCP domain", gaap.ResourceTencentCloudGaapLayer4Listener(), cfg)
	if !l.create() {
		return
	}
	l.update(without(with(cfg, map[string]interface{}{"name": "tf-tcp-dom-2"}), "realserver_bind_set"))
	l.destroy()
}

// TestLayer7HTTPS: an HTTPS listener with mutual authentication, then
// a domain with every auth and a rule with every field, error page, custom
// header.
func TestLayer7HTTPS(t *testing.T) {
	proxyID, rs := fixtures(t)
	c := certificates(t)
	cfg := map[string]interface{}{
		"protocol": "HTTPS", "name": "tf-https", "port": 18443, "proxy_id": proxyID,
		"certificate_id": c.server, "forward_protocol": "HTTPS", "auth_type": 1,
		"client_certificate_ids": []interface{}{c.client},
	}
	l7 := newRes(t, "tencentcloud_gaap_layer7_listener HTTPS", gaap.ResourceTencentCloudGaapLayer7Listener(), cfg)
	if !l7.create() {
		return
	}
	defer l7.destroy()
	l7.update(with(cfg, map[string]interface{}{"name": "tf-https-2", "certificate_id": c.server2,
		"client_certificate_ids": []interface{}{c.client, c.client2}}))

	dcfg := map[string]interface{}{
		"listener_id": l7.state.ID, "domain": "secure.tfcheck.test",
		"certificate_id": c.server, "client_certificate_ids": []interface{}{c.client},
		"realserver_auth": true, "realserver_certificate_ids": []interface{}{c.rsCA}, "realserver_certificate_domain": "origin.tfcheck.test",
		"basic_auth": true, "basic_auth_id": c.basic,
		"gaap_auth": true, "gaap_auth_id": c.proxy,
	}
	dom := newRes(t, "tencentcloud_gaap_http_domain HTTPS", gaap.ResourceTencentCloudGaapHttpDomain(), dcfg)
	if !dom.create() {
		return
	}
	defer dom.destroy()
	dom.update(with(dcfg, map[string]interface{}{"certificate_id": c.server2, "client_certificate_ids": []interface{}{c.client2},
		"realserver_certificate_domain": "origin2.tfcheck.test"}))

	rcfg := map[string]interface{}{
		"listener_id": l7.state.ID, "domain": "secure.tfcheck.test", "path": "/full", "realserver_type": "IP",
		"scheduler": "wrr", "health_check": true, "interval": 7, "connect_timeout": 3,
		"health_check_path": "/health", "health_check_method": "GET",
		"health_check_status_codes": []interface{}{200, 300},
		"forward_host":              "origin.tfcheck.test",
		"sni_switch":                "ON", "sni": "origin.tfcheck.test",
		"realservers": []interface{}{
			map[string]interface{}{"id": rs[0], "ip": "127.0.0.1", "port": 18120, "weight": 2},
			map[string]interface{}{"id": rs[1], "ip": "127.0.0.2", "port": 18121, "weight": 8},
		},
	}
	rule := newRes(t, "tencentcloud_gaap_http_rule full", gaap.ResourceTencentCloudGaapHttpRule(), rcfg)
	if !rule.create() {
		return
	}
	defer rule.destroy()
	rule.update(with(rcfg, map[string]interface{}{"health_check": false, "interval": 9, "connect_timeout": 4,
		"health_check_path": "/ping", "health_check_method": "HEAD", "health_check_status_codes": []interface{}{100, 200, 300, 400, 500},
		"sni": "origin2.tfcheck.test", "forward_host": "default",
		"realservers": []interface{}{
			map[string]interface{}{"id": rs[0], "ip": "127.0.0.1", "port": 18120, "weight": 5},
		}}))
}

// TestLayer7TLS: tls_support_versions and tls_ciphers on HTTPS.
func TestLayer7TLS(t *testing.T) {
	proxyID, _ := fixtures(t)
	c := certificates(t)
	cfg := map[string]interface{}{
		"protocol": "HTTPS", "name": "tf-https-tls", "port": 18444, "proxy_id": proxyID,
		"certificate_id": c.server, "forward_protocol": "HTTP", "auth_type": 0,
		"tls_ciphers": "GAAP_TLS_CIPHERS_STRICT", "tls_support_versions": []interface{}{"TLSv1.2", "TLSv1.3"},
	}
	l7 := newRes(t, "tencentcloud_gaap_layer7_listener HTTPS TLS", gaap.ResourceTencentCloudGaapLayer7Listener(), cfg)
	if !l7.create() {
		return
	}
	defer l7.destroy()
	l7.update(with(cfg, map[string]interface{}{"tls_ciphers": "GAAP_TLS_CIPHERS_GENERAL", "tls_support_versions": []interface{}{"TLSv1.2"}}))

	// a domain on an HTTPS listener forwarding HTTP: basic auth only, default certificate
	dcfg := map[string]interface{}{"listener_id": l7.state.ID, "domain": "plain.tfcheck.test", "is_default_server": true}
	dom := newRes(t, "tencentcloud_gaap_http_domain HTTPS default cert", gaap.ResourceTencentCloudGaapHttpDomain(), dcfg)
	if !dom.create() {
		return
	}
	defer dom.destroy()
	dom.update(with(dcfg, map[string]interface{}{"basic_auth": true, "basic_auth_id": c.basic}))
}

// TestErrorPageAndHeader: _domain_error_page and _custom_header on an
// HTTP listener.
func TestErrorPageAndHeader(t *testing.T) {
	proxyID, rs := fixtures(t)
	cfg := map[string]interface{}{"protocol": "HTTP", "name": "tf-l7-ep", "port": 18082, "proxy_id": proxyID}
	l7 := newRes(t, "tencentcloud_gaap_layer7_listener HTTP (ep)", gaap.ResourceTencentCloudGaapLayer7Listener(), cfg)
	if !l7.create() {
		return
	}
	defer l7.destroy()
	dom := newRes(t, "tencentcloud_gaap_http_domain HTTP (ep)", gaap.ResourceTencentCloudGaapHttpDomain(),
		map[string]interface{}{"listener_id": l7.state.ID, "domain": "err.tfcheck.test"})
	if !dom.create() {
		return
	}
	defer dom.destroy()

	ep := newRes(t, "tencentcloud_gaap_domain_error_page", gaap.ResourceTencentCloudGaapDomainErrorPageInfo(), map[string]interface{}{
		"listener_id": l7.state.ID, "domain": "err.tfcheck.test", "error_codes": []interface{}{404, 503},
		"body": "<h1>oops</h1>", "new_error_code": 200, "clear_headers": []interface{}{"Server", "X-Powered-By"},
		"set_headers": map[string]interface{}{"X-Err": "1", "Cache-Control": "no-store"},
	})
	if ep.create() {
		ep.destroy()
	}
	ep2 := newRes(t, "tencentcloud_gaap_domain_error_page minimal", gaap.ResourceTencentCloudGaapDomainErrorPageInfo(), map[string]interface{}{
		"listener_id": l7.state.ID, "domain": "err.tfcheck.test", "error_codes": []interface{}{502},
		"body": "bad gateway",
	})
	if ep2.create() {
		ep2.destroy()
	}

	rule := newRes(t, "tencentcloud_gaap_http_rule (hdr)", gaap.ResourceTencentCloudGaapHttpRule(), map[string]interface{}{
		"listener_id": l7.state.ID, "domain": "err.tfcheck.test", "path": "/h", "realserver_type": "IP", "health_check": false,
		"realservers": []interface{}{map[string]interface{}{"id": rs[0], "ip": "127.0.0.1", "port": 18130, "weight": 1}},
	})
	if !rule.create() {
		return
	}
	defer rule.destroy()
	hcfg := map[string]interface{}{"rule_id": rule.state.ID, "headers": []interface{}{
		map[string]interface{}{"header_name": "HeaderName1", "header_value": "HeaderValue1"},
		map[string]interface{}{"header_name": "HeaderName2", "header_value": "HeaderValue2"},
	}}
	h := newRes(t, "tencentcloud_gaap_custom_header", gaap.ResourceTencentCloudGaapCustomHeader(), hcfg)
	if !h.create() {
		return
	}
	h.update(map[string]interface{}{"rule_id": rule.state.ID, "headers": []interface{}{
		map[string]interface{}{"header_name": "HeaderName1", "header_value": "HeaderValue1b"},
	}})
	if err := h.r.Delete(h.r.Data(h.state), providerMeta); err != nil {
		fail(t, h.name, "delete", err)
	}
}

// TestProxyGroup: _proxy_group, and a layer-7 listener on it.
func TestProxyGroup(t *testing.T) {
	cfg := map[string]interface{}{"project_id": 0, "group_name": "tf-group", "real_server_region": "NorthChina",
		"ip_address_version": "IPv4", "package_type": "Thunder"}
	g := newRes(t, "tencentcloud_gaap_proxy_group", gaap.ResourceTencentCloudGaapProxyGroup(), cfg)
	if !g.create() {
		return
	}
	g.update(with(cfg, map[string]interface{}{"group_name": "tf-group-2"}))
	// the provider's Delete does not wait for the group to go (and its Read
	// does not clear the ID on ResourceNotFound): only Delete is checked.
	if err := g.r.Delete(g.r.Data(g.state), providerMeta); err != nil {
		fail(t, g.name, "delete", err)
	}
}

// TestGlobalDomain: _global_domain and _global_domain_dns.
func TestGlobalDomain(t *testing.T) {
	proxyID, _ := fixtures(t)
	cfg := map[string]interface{}{"project_id": 0, "default_value": "mikatong.com", "alias": "demo",
		"tags": map[string]interface{}{"key": "value"}}
	gd := newRes(t, "tencentcloud_gaap_global_domain", gaap.ResourceTencentCloudGaapGlobalDomain(), cfg)
	if !gd.create() {
		return
	}
	defer gd.destroy()
	gd.update(with(cfg, map[string]interface{}{"default_value": "mikatong1.com", "alias": "demo1",
		"tags": map[string]interface{}{"key": "value1"}, "status": "close"}))
	gd.update(with(gd.cfg, map[string]interface{}{"status": "open"}))

	dcfg := map[string]interface{}{"domain_id": strings.TrimPrefix(gd.state.ID, "0#"), "proxy_id_list": []interface{}{proxyID},
		"nation_country_inner_codes": []interface{}{"101001"}}
	dns := newRes(t, "tencentcloud_gaap_global_domain_dns", gaap.ResourceTencentCloudGaapGlobalDomainDns(), dcfg)
	if !dns.create() {
		return
	}
	dns.update(with(dcfg, map[string]interface{}{"nation_country_inner_codes": []interface{}{"101002"}}))
	// the provider's Delete does not wait (the record reads back as deleting, status 4): only Delete is checked.
	if err := dns.r.Delete(dns.r.Data(dns.state), providerMeta); err != nil {
		fail(t, dns.name, "delete", err)
	}
}

// readDS runs a data source's Read with cfg and returns its attributes.
func readDS(t *testing.T, name string, r *schema.Resource, cfg map[string]interface{}) (attrs map[string]string) {
	t.Helper()
	d := schema.TestResourceDataRaw(t, r.Schema, cfg)
	defer func() {
		if p := recover(); p != nil {
			fail(t, name, "read", fmt.Errorf("the provider panicked reading the answer: %v", p))
			attrs = nil
		}
	}()
	if err := r.Read(d, providerMeta); err != nil {
		fail(t, name, "read", err)
		return nil
	}
	st := d.State()
	if st == nil {
		fail(t, name, "read", fmt.Errorf("no state"))
		return nil
	}
	return st.Attributes
}

func expect(t *testing.T, ds string, attrs map[string]string, want map[string]string) {
	t.Helper()
	if attrs == nil {
		return
	}
	for k, v := range want {
		if attrs[k] != v {
			t.Errorf("%s: %s = %q, want %q", ds, k, attrs[k], v)
			t.Logf("%s: all attributes: %v", ds, attrs)
		}
	}
}

// TestDataSources: the gaap data sources over a known set of objects.
func TestDataSources(t *testing.T) {
	proxyID, rs := fixtures(t)
	c := certificates(t)

	a := readDS(t, "data tencentcloud_gaap_proxies", gaap.DataSourceTencentCloudGaapProxies(), map[string]interface{}{"ids": []interface{}{proxyID}})
	expect(t, "proxies", a, map[string]string{"proxies.#": "1", "proxies.0.id": proxyID, "proxies.0.name": "tf-review",
		"proxies.0.bandwidth": "10", "proxies.0.concurrent": "2", "proxies.0.access_region": "SouthChina", "proxies.0.realserver_region": "NorthChina"})

	a = readDS(t, "data tencentcloud_gaap_realservers", gaap.DataSourceTencentCloudGaapRealservers(), map[string]interface{}{"ip": "127.0.0.2"})
	expect(t, "realservers", a, map[string]string{"realservers.#": "1", "realservers.0.id": rs[1], "realservers.0.ip": "127.0.0.2", "realservers.0.name": "tf-review-rs1"})

	// a TCP listener with a realserver, and an HTTP listener with domain and rule
	l4cfg := map[string]interface{}{
		"protocol": "TCP", "name": "tf-ds-l4", "port": 18140, "scheduler": "wrr", "realserver_type": "IP",
		"proxy_id": proxyID, "health_check": true, "interval": 6, "connect_timeout": 2, "client_ip_method": 1,
		"realserver_bind_set": []interface{}{map[string]interface{}{"id": rs[0], "ip": "127.0.0.1", "port": 18141, "weight": 4}},
	}
	l4 := newRes(t, "tencentcloud_gaap_layer4_listener (ds)", gaap.ResourceTencentCloudGaapLayer4Listener(), l4cfg)
	if l4.create() {
		a = readDS(t, "data tencentcloud_gaap_layer4_listeners", gaap.DataSourceTencentCloudGaapLayer4Listeners(),
			map[string]interface{}{"protocol": "TCP", "proxy_id": proxyID, "listener_id": l4.state.ID})
		expect(t, "layer4_listeners", a, map[string]string{"listeners.#": "1", "listeners.0.id": l4.state.ID, "listeners.0.name": "tf-ds-l4",
			"listeners.0.port": "18140", "listeners.0.scheduler": "wrr", "listeners.0.health_check": "true", "listeners.0.interval": "6",
			"listeners.0.connect_timeout": "2", "listeners.0.realserver_type": "IP", "listeners.0.protocol": "TCP", "listeners.0.proxy_id": proxyID})
		a = readDS(t, "data tencentcloud_gaap_layer4_listeners by port", gaap.DataSourceTencentCloudGaapLayer4Listeners(),
			map[string]interface{}{"protocol": "TCP", "proxy_id": proxyID, "port": 18140})
		expect(t, "layer4_listeners by port", a, map[string]string{"listeners.#": "1", "listeners.0.id": l4.state.ID})
		a = readDS(t, "data tencentcloud_gaap_layer4_listeners by name", gaap.DataSourceTencentCloudGaapLayer4Listeners(),
			map[string]interface{}{"protocol": "TCP", "proxy_id": proxyID, "listener_name": "tf-ds-l4"})
		expect(t, "layer4_listeners by name", a, map[string]string{"listeners.#": "1", "listeners.0.id": l4.state.ID})
		a = readDS(t, "data tencentcloud_gaap_layer4_listeners UDP", gaap.DataSourceTencentCloudGaapLayer4Listeners(),
			map[string]interface{}{"protocol": "UDP", "proxy_id": proxyID, "listener_id": l4.state.ID})
		expect(t, "layer4_listeners UDP for a TCP id", a, map[string]string{"listeners.#": "0"})
		if l4.update(without(l4cfg, "realserver_bind_set")) {
			l4.destroy()
		}
	}

	l7 := newRes(t, "tencentcloud_gaap_layer7_listener (ds)", gaap.ResourceTencentCloudGaapLayer7Listener(),
		map[string]interface{}{"protocol": "HTTP", "name": "tf-ds-l7", "port": 18142, "proxy_id": proxyID})
	if !l7.create() {
		return
	}
	defer l7.destroy()
	a = readDS(t, "data tencentcloud_gaap_layer7_listeners", gaap.DataSourceTencentCloudGaapLayer7Listeners(),
		map[string]interface{}{"protocol": "HTTP", "proxy_id": proxyID, "listener_id": l7.state.ID})
	expect(t, "layer7_listeners", a, map[string]string{"listeners.#": "1", "listeners.0.id": l7.state.ID, "listeners.0.name": "tf-ds-l7",
		"listeners.0.port": "18142", "listeners.0.protocol": "HTTP", "listeners.0.proxy_id": proxyID})
	a = readDS(t, "data tencentcloud_gaap_layer7_listeners by name", gaap.DataSourceTencentCloudGaapLayer7Listeners(),
		map[string]interface{}{"protocol": "HTTP", "proxy_id": proxyID, "listener_name": "tf-ds-l7"})
	expect(t, "layer7_listeners by name", a, map[string]string{"listeners.#": "1"})

	dom := newRes(t, "tencentcloud_gaap_http_domain (ds)", gaap.ResourceTencentCloudGaapHttpDomain(),
		map[string]interface{}{"listener_id": l7.state.ID, "domain": "ds.tfcheck.test"})
	if !dom.create() {
		return
	}
	defer dom.destroy()
	a = readDS(t, "data tencentcloud_gaap_http_domains", gaap.DataSourceTencentCloudGaapHttpDomains(),
		map[string]interface{}{"listener_id": l7.state.ID, "domain": "ds.tfcheck.test"})
	expect(t, "http_domains", a, map[string]string{"domains.#": "1", "domains.0.domain": "ds.tfcheck.test"})

	rule := newRes(t, "tencentcloud_gaap_http_rule (ds)", gaap.ResourceTencentCloudGaapHttpRule(), map[string]interface{}{
		"listener_id": l7.state.ID, "domain": "ds.tfcheck.test", "path": "/ds", "realserver_type": "IP", "health_check": false,
		"forward_host": "fw.tfcheck.test",
		"realservers":  []interface{}{map[string]interface{}{"id": rs[0], "ip": "127.0.0.1", "port": 18143, "weight": 1}},
	})
	if rule.create() {
		defer rule.destroy()
		a = readDS(t, "data tencentcloud_gaap_http_rules", gaap.DataSourceTencentCloudGaapHttpRules(),
			map[string]interface{}{"listener_id": l7.state.ID, "domain": "ds.tfcheck.test", "path": "/ds"})
		expect(t, "http_rules", a, map[string]string{"rules.#": "1"})
		for k, v := range map[string]string{"id": rule.state.ID, "path": "/ds", "forward_host": "fw.tfcheck.test", "realservers.#": "1"} {
			found := false
			for ak, av := range a {
				if strings.HasPrefix(ak, "rules.") && strings.HasSuffix(ak, "."+k) && strings.Count(ak, ".") == 2+strings.Count(k, ".") && av == v {
					found = true
				}
			}
			if a != nil && !found {
				t.Errorf("http_rules: no rules.*.%s = %q", k, v)
			}
		}
		a = readDS(t, "data tencentcloud_gaap_http_rules by forward_host", gaap.DataSourceTencentCloudGaapHttpRules(),
			map[string]interface{}{"listener_id": l7.state.ID, "forward_host": "fw.tfcheck.test"})
		expect(t, "http_rules by forward_host", a, map[string]string{"rules.#": "1"})
	}

	a = readDS(t, "data tencentcloud_gaap_certificates", gaap.DataSourceTencentCloudGaapCertificates(),
		map[string]interface{}{"id": c.server})
	expect(t, "certificates by id", a, map[string]string{"certificates.#": "1", "certificates.0.id": c.server, "certificates.0.name": "tf-srv",
		"certificates.0.type": "SERVER", "certificates.0.subject_cn": "secure.tfcheck.test"})
	a = readDS(t, "data tencentcloud_gaap_certificates BASIC", gaap.DataSourceTencentCloudGaapCertificates(),
		map[string]interface{}{"type": "BASIC", "name": "tf-basic"})
	expect(t, "certificates by type+name", a, map[string]string{"certificates.#": "1", "certificates.0.id": c.basic})

	pol := newRes(t, "tencentcloud_gaap_security_policy (ds)", gaap.ResourceTencentCloudGaapSecurityPolicy(),
		map[string]interface{}{"proxy_id": proxyID, "action": "DROP", "enable": true})
	if pol.create() {
		defer pol.destroy()
		a = readDS(t, "data tencentcloud_gaap_security_policies", gaap.DataSourceTencentCloudGaapSecurityPolices(),
			map[string]interface{}{"id": pol.state.ID})
		expect(t, "security_policies", a, map[string]string{"proxy_id": proxyID, "action": "DROP"})
		sr := newRes(t, "tencentcloud_gaap_security_rule (ds)", gaap.ResourceTencentCloudGaapSecurityRule(), map[string]interface{}{
			"policy_id": pol.state.ID, "cidr_ip": "10.1.0.0/16", "action": "ACCEPT", "name": "tf-ds-rule", "protocol": "UDP", "port": "53"})
		if sr.create() {
			defer sr.destroy()
			a = readDS(t, "data tencentcloud_gaap_security_rules", gaap.DataSourceTencentCloudGaapSecurityRules(),
				map[string]interface{}{"policy_id": pol.state.ID, "name": "tf-ds-rule"})
			expect(t, "security_rules", a, map[string]string{"rules.#": "1", "rules.0.id": sr.state.ID, "rules.0.cidr_ip": "10.1.0.0/16",
				"rules.0.action": "ACCEPT", "rules.0.protocol": "UDP", "rules.0.port": "53"})
		}
	}
}

// TestHttpDomainsDataSourceHTTP: data "tencentcloud_gaap_http_domains"
// on a domain of an HTTP listener — the provider's own acceptance test
// (data_source_tc_gaap_http_domains_test.go) against Tencent Cloud. The
// reference's DescribeRules example answers such a domain with CertificateId
// / ClientCertificateId "default" and PolyClientCertificateAliasInfo
// [{"CertificateId":"default","CertificateAlias":"默认证书"}]; the provider
// reads PolyClientCertificateAliasInfo[0] unconditionally.
func TestHttpDomainsDataSourceHTTP(t *testing.T) {
	proxyID, _ := fixtures(t)
	l7 := newRes(t, "tencentcloud_gaap_layer7_listener (http_domains ds)", gaap.ResourceTencentCloudGaapLayer7Listener(),
		map[string]interface{}{"protocol": "HTTP", "name": "tf-dsh", "port": 18150, "proxy_id": proxyID})
	if !l7.create() {
		return
	}
	defer l7.destroy()
	dom := newRes(t, "tencentcloud_gaap_http_domain (http_domains ds)", gaap.ResourceTencentCloudGaapHttpDomain(),
		map[string]interface{}{"listener_id": l7.state.ID, "domain": "www.qq.com"})
	if !dom.create() {
		return
	}
	defer dom.destroy()
	a := readDS(t, "data tencentcloud_gaap_http_domains (HTTP listener)", gaap.DataSourceTencentCloudGaapHttpDomains(),
		map[string]interface{}{"listener_id": l7.state.ID, "domain": "www.qq.com"})
	expect(t, "http_domains", a, map[string]string{"domains.#": "1", "domains.0.domain": "www.qq.com",
		"domains.0.certificate_id": "default", "domains.0.client_certificate_id": "default", "domains.0.client_certificate_ids.#": "1"})
}

// TestHttpDomainsDataSourceHTTPSOneWay: the same data source on a
// domain of a one-way HTTPS listener created with its certificate left to
// the listener's (certificate_id "default", no client CA) — the reference
// example's very answer shape (CertificateId/ClientCertificateId "default").
func TestHttpDomainsDataSourceHTTPSOneWay(t *testing.T) {
	proxyID, _ := fixtures(t)
	c := certificates(t)
	l7 := newRes(t, "tencentcloud_gaap_layer7_listener (http_domains ds, HTTPS)", gaap.ResourceTencentCloudGaapLayer7Listener(),
		map[string]interface{}{"protocol": "HTTPS", "name": "tf-dss", "port": 18151, "proxy_id": proxyID,
			"certificate_id": c.server, "forward_protocol": "HTTP", "auth_type": 0})
	if !l7.create() {
		return
	}
	defer l7.destroy()
	dom := newRes(t, "tencentcloud_gaap_http_domain (http_domains ds, HTTPS)", gaap.ResourceTencentCloudGaapHttpDomain(),
		map[string]interface{}{"listener_id": l7.state.ID, "domain": "baidu.com"})
	if !dom.create() {
		return
	}
	defer dom.destroy()
	a := readDS(t, "data tencentcloud_gaap_http_domains (HTTPS one-way listener)", gaap.DataSourceTencentCloudGaapHttpDomains(),
		map[string]interface{}{"listener_id": l7.state.ID, "domain": "baidu.com"})
	expect(t, "http_domains", a, map[string]string{"domains.#": "1", "domains.0.domain": "baidu.com",
		"domains.0.certificate_id": "default", "domains.0.client_certificate_id": "default", "domains.0.client_certificate_ids.#": "1"})
}
