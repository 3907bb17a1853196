package tfcheck

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/tencentcloudstack/terraform-provider-tencentcloud/tencentcloud/services/gaap"
)

// TestGaap drives the GAAP resources in the order a configuration would
// create them, and destroys them in reverse.
func TestGaap(t *testing.T) {
	proxyCfg := map[string]interface{}{
		"name": "tf-proxy", "project_id": 0, "bandwidth": 10, "concurrent": 2,
		"access_region": "SouthChina", "realserver_region": "NorthChina", "enable": true,
		"tags": map[string]interface{}{"env": "tfcheck"},
	}
	proxy := newRes(t, "tencentcloud_gaap_proxy", gaap.ResourceTencentCloudGaapProxy(), proxyCfg)
	if !proxy.create() {
		t.Fatal("no proxy: the other GAAP resources need one")
	}
	defer proxy.destroy()
	proxyID := proxy.state.ID
	proxy.update(with(proxyCfg, map[string]interface{}{"name": "tf-proxy-2", "bandwidth": 20,
		"tags": map[string]interface{}{"env": "tfcheck2"}}))

	rsCfg := map[string]interface{}{"ip": "127.0.0.1", "name": "tf-rs", "project_id": 0,
		"tags": map[string]interface{}{"role": "origin"}}
	rs := newRes(t, "tencentcloud_gaap_realserver", gaap.ResourceTencentCloudGaapRealserver(), rsCfg)
	haveRS := rs.create()
	if haveRS {
		defer rs.destroy()
		rs.update(with(rsCfg, map[string]interface{}{"name": "tf-rs-2"}))
	}

	t.Run("layer4", func(t *testing.T) {
		if !haveRS {
			t.Skip("no realserver")
		}
		bind := []interface{}{map[string]interface{}{"id": rs.state.ID, "ip": "127.0.0.1", "port": 18090, "weight": 1}}
		cfg := map[string]interface{}{
			"protocol": "TCP", "name": "tf-l4", "port": 18080, "scheduler": "rr", "realserver_type": "IP",
			"proxy_id": proxyID, "health_check": false, "client_ip_method": 0, "realserver_bind_set": bind,
		}
		l4 := newRes(t, "tencentcloud_gaap_layer4_listener", gaap.ResourceTencentCloudGaapLayer4Listener(), cfg)
		if !l4.create() {
			return
		}
		l4.update(with(cfg, map[string]interface{}{"name": "tf-l4-2", "scheduler": "wrr",
			"realserver_bind_set": []interface{}{map[string]interface{}{"id": rs.state.ID, "ip": "127.0.0.1", "port": 18091, "weight": 5}}}))
		// docs/terraform.md: unbind, apply, then destroy.
		if !l4.update(without(l4.cfg, "realserver_bind_set")) {
			t.Log("unbinding failed; destroying anyway")
		}
		l4.destroy()
	})

	t.Run("security", func(t *testing.T) {
		pcfg := map[string]interface{}{"proxy_id": proxyID, "action": "ACCEPT", "enable": true}
		pol := newRes(t, "tencentcloud_gaap_security_policy", gaap.ResourceTencentCloudGaapSecurityPolicy(), pcfg)
		if !pol.create() {
			return
		}
		defer pol.destroy()
		pol.update(with(pcfg, map[string]interface{}{"enable": false}))
		rcfg := map[string]interface{}{"policy_id": pol.state.ID, "cidr_ip": "10.0.0.0/24", "action": "DROP",
			"name": "tf-rule", "protocol": "TCP", "port": "80"}
		rule := newRes(t, "tencentcloud_gaap_security_rule", gaap.ResourceTencentCloudGaapSecurityRule(), rcfg)
		if !rule.create() {
			return
		}
		rule.update(with(rcfg, map[string]interface{}{"port": "80,443", "name": "tf-rule-2", "cidr_ip": "10.0.1.0/24"}))
		rule.destroy()
	})

	t.Run("certificate", func(t *testing.T) {
		certPEM, keyPEM := selfSigned(t, "tfcheck.example.com")
		cfg := map[string]interface{}{"type": "SERVER", "content": certPEM, "key": keyPEM, "name": "tf-cert"}
		cert := newRes(t, "tencentcloud_gaap_certificate", gaap.ResourceTencentCloudGaapCertificate(), cfg)
		if !cert.create() {
			return
		}
		if cert.attr("subject_cn") != "tfcheck.example.com" {
			t.Errorf("certificate subject_cn reads back %q", cert.attr("subject_cn"))
		}
		cert.update(with(cfg, map[string]interface{}{"name": "tf-cert-2"}))
		cert.destroy()
	})

	t.Run("layer7", func(t *testing.T) {
		cfg := map[string]interface{}{"protocol": "HTTP", "name": "tf-l7", "port": 18081, "proxy_id": proxyID}
		l7 := newRes(t, "tencentcloud_gaap_layer7_listener", gaap.ResourceTencentCloudGaapLayer7Listener(), cfg)
		if !l7.create() {
			return
		}
		defer l7.destroy()
		l7.update(with(cfg, map[string]interface{}{"name": "tf-l7-2"}))

		dcfg := map[string]interface{}{"listener_id": l7.state.ID, "domain": "www.tfcheck.test"}
		dom := newRes(t, "tencentcloud_gaap_http_domain", gaap.ResourceTencentCloudGaapHttpDomain(), dcfg)
		if !dom.create() {
			return
		}
		defer dom.destroy()

		if !haveRS {
			t.Skip("no realserver for the HTTP rule")
		}
		rcfg := map[string]interface{}{
			"listener_id": l7.state.ID, "domain": "www.tfcheck.test", "path": "/", "realserver_type": "IP",
			"scheduler": "rr", "health_check": true, "interval": 5, "connect_timeout": 2,
			"health_check_path": "/", "health_check_method": "GET",
			"health_check_status_codes": []interface{}{200},
			"forward_host":              "default",
			"realservers":               []interface{}{map[string]interface{}{"id": rs.state.ID, "ip": "127.0.0.1", "port": 18092, "weight": 1}},
		}
		rule := newRes(t, "tencentcloud_gaap_http_rule", gaap.ResourceTencentCloudGaapHttpRule(), rcfg)
		if !rule.create() {
			return
		}
		rule.update(with(rcfg, map[string]interface{}{"path": "/api", "scheduler": "wrr", "forward_host": "origin.tfcheck.test",
			"realservers": []interface{}{map[string]interface{}{"id": rs.state.ID, "ip": "127.0.0.1", "port": 18093, "weight": 3}}}))
		rule.destroy()
	})
}

// with returns a copy of base with over's keys set.
func with(base, over map[string]interface{}) map[string]interface{} {
	m := make(map[string]interface{}, len(base)+len(over))
	for k, v := range base {
		m[k] = v
	}
	for k, v := range over {
		m[k] = v
	}
	return m
}

// without returns a copy of base without keys.
func without(base map[string]interface{}, keys ...string) map[string]interface{} {
	m := with(base, nil)
	for _, k := range keys {
		delete(m, k)
	}
	return m
}

func selfSigned(t *testing.T, cn string) (string, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		Issuer: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}
