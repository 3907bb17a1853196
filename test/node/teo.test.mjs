// End-to-end tests of the teo (EdgeOne L4) actions through the official
// Node.js SDK against the real opengaap binary. Every action is called and
// its effect read back; invalid inputs are checked for their error codes.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { errorCode, eventually, startServer } from "./server.mjs";

let srv;
let api;

before(async () => {
  // Private origins are refused so InvalidOriginIp can be observed; the
  // tests use public origin addresses and send them no traffic.
  // --no-toa: TOA's refusal is checked here, whatever this machine can do
  // (the Go tests cover TOA served).
  srv = await startServer(["--deny-private-origins", "--no-toa"]);
  api = srv.client;
});

after(async () => {
  await srv?.stop();
});

async function newZone() {
  const { ZoneId } = await api.CreateZone({ Type: "noDomainAccess" });
  assert.match(ZoneId, /^zone-[a-z0-9]{12}$/);
  return ZoneId;
}

async function proxyOf(ZoneId, ProxyId) {
  const r = await api.DescribeL4Proxy({ ZoneId, Filters: [{ Name: "proxy-id", Values: [ProxyId] }] });
  assert.equal(r.TotalCount, 1);
  return r.L4Proxies[0];
}

async function waitProxy(ZoneId, ProxyId, status) {
  return eventually(async () => {
    const p = await proxyOf(ZoneId, ProxyId);
    return p.Status === status && p;
  }, `proxy ${ProxyId} ${status}`);
}

async function rulesOf(ZoneId, ProxyId, Filters) {
  return api.DescribeL4ProxyRules({ ZoneId, ProxyId, Offset: 0, Limit: 1000, Filters });
}

async function waitRules(ZoneId, ProxyId, status) {
  return eventually(async () => {
    const r = await rulesOf(ZoneId, ProxyId);
    return r.L4ProxyRules.every((x) => x.Status === status) && r;
  }, `rules of ${ProxyId} ${status}`);
}

async function onlineProxy(ZoneId, ProxyName, extra = {}) {
  const { ProxyId } = await api.CreateL4Proxy({ ZoneId, ProxyName, Area: "mainland", ...extra });
  assert.match(ProxyId, /^sid-[a-z0-9]{12}$/);
  await waitProxy(ZoneId, ProxyId, "online");
  return ProxyId;
}

const tcpRule = (port, extra = {}) => ({
  Protocol: "TCP", PortRange: [String(port)], OriginType: "IP_DOMAIN", OriginValue: ["8.8.8.8"], OriginPortRange: "8080", ...extra,
});

describe("zones", () => {
  test("CreateZone, DescribeZones and ModifyZone", async () => {
    const { ZoneId } = await api.CreateZone({ Type: "partial", ZoneName: "example.com", Tags: [{ TagKey: "env", TagValue: "test" }] });
    let r = await api.DescribeZones({ Filters: [{ Name: "zone-id", Values: [ZoneId] }] });
    assert.equal(r.TotalCount, 1);
    const z = r.Zones[0];
    assert.deepEqual([z.ZoneName, z.Type, z.Area, z.ActiveStatus, z.Paused], ["example.com", "partial", "overseas", "active", false]);
    assert.deepEqual(z.Tags, [{ TagKey: "env", TagValue: "test" }]);

    r = await api.DescribeZones({ Filters: [{ Name: "zone-name", Values: ["xample"], Fuzzy: true }] });
    assert.ok(r.Zones.some((x) => x.ZoneId === ZoneId), "fuzzy zone-name filter finds the zone");
    r = await api.DescribeZones({ Offset: 0, Limit: 1 });
    assert.equal(r.Zones.length, 1);

    assert.equal(await errorCode(() => api.CreateZone({ Type: "partial", ZoneName: "example.com" })), "ResourceInUse");
    assert.equal(await errorCode(() => api.CreateZone({ Type: "partial", ZoneName: "not a domain" })), "InvalidParameterValue");

    await api.ModifyZone({ ZoneId, AliasZoneName: "alias-1", Area: "global" });
    r = await api.DescribeZones({ Filters: [{ Name: "zone-id", Values: [ZoneId] }] });
    assert.deepEqual([r.Zones[0].AliasZoneName, r.Zones[0].Area], ["alias-1", "global"]);
    assert.equal(await errorCode(() => api.DescribeZones({ Filters: [{ Name: "color", Values: ["x"] }] })), "InvalidParameterValue");
  });

  test("a noDomainAccess zone can only become a CNAME zone", async () => {
    const ZoneId = await newZone();
    assert.equal(await errorCode(() => api.ModifyZone({ ZoneId, Area: "global" })), "OperationDenied.NoDomainAccessZoneOnlySupportModifyType");
    assert.equal(await errorCode(() => api.ModifyZone({ ZoneId, Type: "full" })), "OperationDenied.NoDomainAccessZoneOnlyAllowModifiedToCNAME");
    assert.equal(await errorCode(() => api.ModifyZone({ ZoneId, Type: "partial" })), "InvalidParameter.ZoneNameIsRequired");
    await api.ModifyZone({ ZoneId, Type: "partial", ZoneName: "cname.example.org" });
    const r = await api.DescribeZones({ Filters: [{ Name: "zone-id", Values: [ZoneId] }] });
    assert.deepEqual([r.Zones[0].Type, r.Zones[0].ZoneName], ["partial", "cname.example.org"]);
  });

  test("ModifyZoneStatus pauses a zone: no new proxies until resumed", async () => {
    const ZoneId = await newZone();
    await api.ModifyZoneStatus({ ZoneId, Paused: true });
    let r = await api.DescribeZones({ Filters: [{ Name: "zone-id", Values: [ZoneId] }] });
    assert.deepEqual([r.Zones[0].Paused, r.Zones[0].ActiveStatus], [true, "paused"]);
    assert.equal(await errorCode(() => api.CreateL4Proxy({ ZoneId, ProxyName: "paused", Area: "mainland" })), "OperationDenied.ErrZoneIsAlreadyPaused");
    await api.ModifyZoneStatus({ ZoneId, Paused: false });
    r = await api.DescribeZones({ Filters: [{ Name: "zone-id", Values: [ZoneId] }] });
    assert.equal(r.Zones[0].Paused, false);
    await onlineProxy(ZoneId, "resumed");
  });

  test("DeleteZone refuses a zone with L4 proxies", async () => {
    const ZoneId = await newZone();
    const ProxyId = await onlineProxy(ZoneId, "blocker");
    assert.equal(await errorCode(() => api.DeleteZone({ ZoneId })), "OperationDenied.DeleteZonePreCheckFailed");
    await api.DeleteL4Proxy({ ZoneId, ProxyId });
    await api.DeleteZone({ ZoneId });
    const r = await api.DescribeZones({ Filters: [{ Name: "zone-id", Values: [ZoneId] }] });
    assert.equal(r.TotalCount, 0);
    assert.equal(await errorCode(() => api.DeleteZone({ ZoneId })), "ResourceNotFound");
  });
});

describe("L4 proxies", () => {
  test("CreateL4Proxy settles online with an access IP from the pool", async () => {
    const ZoneId = await newZone();
    const { ProxyId } = await api.CreateL4Proxy({ ZoneId, ProxyName: "proxy-1", Area: "mainland" });
    const first = await proxyOf(ZoneId, ProxyId);
    assert.ok(["progress", "online"].includes(first.Status), `status ${first.Status}`);
    const p = await waitProxy(ZoneId, ProxyId, "online");
    const prefix = srv.pool.split(".").slice(0, 3).join(".") + ".";
    assert.ok(p.Cname.startsWith(prefix), `Cname ${p.Cname} is an address of ${srv.pool}`);
    assert.deepEqual(p.Ips, []);
    assert.deepEqual([p.ProxyName, p.Area, p.Ipv6, p.StaticIp, p.AccelerateMainland, p.L4ProxyRuleCount],
      ["proxy-1", "mainland", "off", "off", "off", 0]);
    assert.equal(p.DDosProtectionConfig ?? null, null, "no DDosProtectionConfig for a proxy created without one");

    const s = await onlineProxy(ZoneId, "static-1", { StaticIp: "on" });
    const sp = await proxyOf(ZoneId, s);
    assert.deepEqual(sp.Ips, [sp.Cname]);
    assert.notEqual(sp.Cname, p.Cname);
  });

  test("CreateL4Proxy validation and documented conflicts", async () => {
    const ZoneId = await newZone();
    await onlineProxy(ZoneId, "taken");
    const create = (extra) => errorCode(() => api.CreateL4Proxy({ ZoneId, ProxyName: "x", Area: "mainland", ...extra }));
    assert.equal(await create({ ProxyName: "taken" }), "InvalidParameter.ProxyNameDuplicating");
    assert.equal(await create({ ProxyName: "Bad_Name" }), "InvalidParameter.ProxyNameNotMatched");
    assert.equal(await create({ ProxyName: "a--b" }), "InvalidParameter.ProxyNameNotMatched");
    assert.equal(await create({ Area: "mars" }), "InvalidParameterValue");
    assert.equal(await create({ Ipv6: "on", StaticIp: "on" }), "OperationDenied.Ipv6StaticIpConflict");
    assert.equal(await create({ Area: "global", StaticIp: "on" }), "OperationDenied.StaticIpAreaConflict");
    assert.equal(await create({ Area: "overseas", AccelerateMainland: "on", Ipv6: "on" }), "OperationDenied.AccelerateMainlandIpv6Conflict");
    assert.equal(await create({ Ipv6: "on", DDosProtectionConfig: { LevelMainland: "BASE30_MAX300" } }), "OperationDenied.Ipv6AdvancedConflict");
    assert.equal(await create({ DDosProtectionConfig: { LevelOverseas: "ANYCAST_ALLIN" } }), "InvalidParameterValue");
    assert.equal(await create({ ZoneId: "zone-000000000000" }), "ResourceNotFound");
    assert.equal(await errorCode(() => api.CreateL4Proxy({ ZoneId, Area: "mainland" })), "MissingParameter");

    const { ProxyId } = await api.CreateL4Proxy({ ZoneId, ProxyName: "ddos", Area: "overseas", DDosProtectionConfig: { LevelOverseas: "ANYCAST_ALLIN" } });
    const p = await proxyOf(ZoneId, ProxyId);
    assert.deepEqual(p.DDosProtectionConfig, { LevelMainland: "PLATFORM", MaxBandwidthMainland: 0, LevelOverseas: "ANYCAST_ALLIN" });
    const r = await api.DescribeL4Proxy({ ZoneId, Filters: [{ Name: "ddos-protection-type", Values: ["ANYCAST_ALLIN"] }] });
    assert.deepEqual(r.L4Proxies.map((x) => x.ProxyId), [ProxyId]);
  });

  test("ModifyL4Proxy, ModifyL4ProxyStatus and DeleteL4Proxy", async () => {
    const ZoneId = await newZone();
    const ProxyId = await onlineProxy(ZoneId, "lifecycle");
    await api.ModifyL4Proxy({ ZoneId, ProxyId, Ipv6: "on" });
    let p = await waitProxy(ZoneId, ProxyId, "online");
    assert.equal(p.Ipv6, "on");
    assert.equal(await errorCode(() => api.ModifyL4Proxy({ ZoneId, ProxyId, Ipv6: "maybe" })), "InvalidParameterValue");

    await api.ModifyL4ProxyStatus({ ZoneId, ProxyId, Status: "offline" });
    p = await proxyOf(ZoneId, ProxyId);
    assert.ok(["stopping", "offline"].includes(p.Status), `status ${p.Status}`);
    await waitProxy(ZoneId, ProxyId, "offline");
    await api.ModifyL4ProxyStatus({ ZoneId, ProxyId, Status: "online" });
    await waitProxy(ZoneId, ProxyId, "online");
    assert.equal(await errorCode(() => api.ModifyL4ProxyStatus({ ZoneId, ProxyId, Status: "paused" })), "InvalidParameterValue");

    const list = await api.DescribeL4Proxy({ ZoneId, Offset: 0, Limit: 10 });
    assert.equal(list.TotalCount, 1);
    await api.DeleteL4Proxy({ ZoneId, ProxyId });
    assert.equal((await api.DescribeL4Proxy({ ZoneId })).TotalCount, 0);
    assert.equal(await errorCode(() => api.DeleteL4Proxy({ ZoneId, ProxyId })), "ResourceNotFound");
  });
});

describe("L4 rules", () => {
  test("CreateL4ProxyRules, DescribeL4ProxyRules with defaults and filters", async () => {
    const ZoneId = await newZone();
    const ProxyId = await onlineProxy(ZoneId, "rules");
    const { L4ProxyRuleIds } = await api.CreateL4ProxyRules({ ZoneId, ProxyId, L4ProxyRules: [
      tcpRule(80, { RuleTag: "web" }),
      { Protocol: "UDP", PortRange: ["81-85"], OriginType: "IP_DOMAIN", OriginValue: ["origin.example.com"], OriginPortRange: "91-95",
        ClientIPPassThroughMode: "PPV2", SessionPersist: "on", SessionPersistTime: 600 },
    ] });
    assert.equal(L4ProxyRuleIds.length, 2);
    assert.match(L4ProxyRuleIds[0], /^rule-[a-z0-9]{12}$/);
    const r = await waitRules(ZoneId, ProxyId, "online");
    assert.equal(r.TotalCount, 2);
    const [tcp, udp] = r.L4ProxyRules;
    assert.deepEqual([tcp.RuleId, tcp.Protocol, tcp.PortRange, tcp.OriginPortRange, tcp.ClientIPPassThroughMode, tcp.SessionPersist, tcp.SessionPersistTime, tcp.RuleTag],
      [L4ProxyRuleIds[0], "TCP", ["80"], "8080", "OFF", "off", 0, "web"]);
    assert.deepEqual([udp.PortRange, udp.OriginValue, udp.OriginPortRange, udp.ClientIPPassThroughMode, udp.SessionPersistTime],
      [["81-85"], ["origin.example.com"], "91-95", "PPV2", 600]);
    assert.equal((await proxyOf(ZoneId, ProxyId)).L4ProxyRuleCount, 2);

    const byTag = await rulesOf(ZoneId, ProxyId, [{ Name: "rule-tag", Values: ["web"] }]);
    assert.deepEqual(byTag.L4ProxyRules.map((x) => x.RuleId), [L4ProxyRuleIds[0]]);
    const byId = await rulesOf(ZoneId, ProxyId, [{ Name: "rule-id", Values: [L4ProxyRuleIds[1]] }]);
    assert.deepEqual(byId.L4ProxyRules.map((x) => x.RuleId), [L4ProxyRuleIds[1]]);
    const page = await api.DescribeL4ProxyRules({ ZoneId, ProxyId, Offset: 1, Limit: 1 });
    assert.deepEqual([page.TotalCount, page.L4ProxyRules.length], [2, 1]);
  });

  test("CreateL4ProxyRules refuses invalid rules", async () => {
    const ZoneId = await newZone();
    const ProxyId = await onlineProxy(ZoneId, "invalid-rules");
    await api.CreateL4ProxyRules({ ZoneId, ProxyId, L4ProxyRules: [tcpRule("100-110")] });
    const create = (rule) => errorCode(() => api.CreateL4ProxyRules({ ZoneId, ProxyId, L4ProxyRules: [rule] }));
    assert.equal(await create(tcpRule(105)), "InvalidParameter.RulePortDuplicating");
    assert.equal(await create(tcpRule("abc")), "InvalidParameter.RulePortInteger");
    assert.equal(await create(tcpRule("90-80")), "InvalidParameter.RulePortGroup");
    assert.equal(await create(tcpRule(70000)), "InvalidParameter.RulePortGroup");
    assert.equal(await create(tcpRule("200-204", { OriginPortRange: "300-302" })), "InvalidParameter.RulePortGroup");
    assert.equal(await create(tcpRule(1, { Protocol: "ICMP" })), "InvalidParameter.InvalidRuleProto");
    assert.equal(await create(tcpRule(1, { OriginValue: ["10.1.2.3"] })), "InvalidParameter.InvalidOriginIp");
    assert.equal(await create(tcpRule(1, { OriginValue: ["127.0.0.1"] })), "InvalidParameter.InvalidOriginIp");
    assert.equal(await create(tcpRule(1, { OriginValue: ["bad host!"] })), "InvalidParameter.InvalidOriginValue");
    assert.equal(await create(tcpRule(1, { ClientIPPassThroughMode: "TOA" })), "OperationDenied");
    assert.equal(await create(tcpRule(1, { ClientIPPassThroughMode: "SPP" })), "InvalidParameterValue");
    assert.equal(await create(tcpRule(1, { SessionPersist: "on", SessionPersistTime: 10 })), "InvalidParameterValue");
    assert.equal(await create(tcpRule(1, { OriginType: "LB", OriginValue: ["lb-2qwk30xf7s9g"] })), "OperationDenied");
    assert.equal(await create(tcpRule(1, { OriginType: "ORIGIN_GROUP", OriginValue: ["origin-nope"] })), "InvalidParameter.InvalidOriginValue");
    const { Protocol, ...noProtocol } = tcpRule(1);
    assert.equal(await create(noProtocol), "MissingParameter");
    const many = Array.from({ length: 201 }, (_, i) => tcpRule(1000 + i));
    assert.equal(await errorCode(() => api.CreateL4ProxyRules({ ZoneId, ProxyId, L4ProxyRules: many })), "LimitExceeded.ProxyRulesLimitExceeded");
    assert.equal((await rulesOf(ZoneId, ProxyId)).TotalCount, 1, "refused requests add nothing");
  });

  test("ModifyL4ProxyRules, ModifyL4ProxyRulesStatus and DeleteL4ProxyRules", async () => {
    const ZoneId = await newZone();
    const ProxyId = await onlineProxy(ZoneId, "rule-life");
    const { L4ProxyRuleIds: [a, b] } = await api.CreateL4ProxyRules({ ZoneId, ProxyId, L4ProxyRules: [tcpRule(80), tcpRule(81)] });
    await waitRules(ZoneId, ProxyId, "online");

    await api.ModifyL4ProxyRules({ ZoneId, ProxyId, L4ProxyRules: [{ RuleId: a, RuleTag: "service-1", PortRange: ["8000-8009"], OriginPortRange: "9000-9009", ClientIPPassThroughMode: "PPV1" }] });
    let r = await waitRules(ZoneId, ProxyId, "online");
    const ra = r.L4ProxyRules.find((x) => x.RuleId === a);
    assert.deepEqual([ra.RuleTag, ra.PortRange, ra.OriginPortRange, ra.ClientIPPassThroughMode, ra.OriginValue], ["service-1", ["8000-8009"], "9000-9009", "PPV1", ["8.8.8.8"]]);
    assert.equal(await errorCode(() => api.ModifyL4ProxyRules({ ZoneId, ProxyId, L4ProxyRules: [{ RuleId: b, PortRange: ["8005"] }] })), "InvalidParameter.RulePortDuplicating");
    assert.equal(await errorCode(() => api.ModifyL4ProxyRules({ ZoneId, ProxyId, L4ProxyRules: [{ RuleId: "rule-000000000000", RuleTag: "x" }] })), "ResourceNotFound");
    assert.equal(await errorCode(() => api.ModifyL4ProxyRules({ ZoneId, ProxyId, L4ProxyRules: [{ RuleTag: "x" }] })), "MissingParameter");

    await api.ModifyL4ProxyRulesStatus({ ZoneId, ProxyId, RuleIds: [a, b], Status: "offline" });
    await waitRules(ZoneId, ProxyId, "offline");
    await api.ModifyL4ProxyRulesStatus({ ZoneId, ProxyId, RuleIds: [b], Status: "online" });
    r = await eventually(async () => {
      const x = await rulesOf(ZoneId, ProxyId);
      return x.L4ProxyRules.find((y) => y.RuleId === b).Status === "online" && x;
    }, "rule b online");
    assert.equal(r.L4ProxyRules.find((x) => x.RuleId === a).Status, "offline");
    assert.equal(await errorCode(() => api.ModifyL4ProxyRulesStatus({ ZoneId, ProxyId, RuleIds: [a], Status: "on" })), "InvalidParameterValue");

    await api.DeleteL4ProxyRules({ ZoneId, ProxyId, RuleIds: [a] });
    r = await rulesOf(ZoneId, ProxyId);
    assert.deepEqual(r.L4ProxyRules.map((x) => x.RuleId), [b]);
    assert.equal(await errorCode(() => api.DeleteL4ProxyRules({ ZoneId, ProxyId, RuleIds: [a] })), "ResourceNotFound");
  });
});

describe("origin groups", () => {
  test("Create/Describe/Modify/DeleteOriginGroup and use by an L4 rule", async () => {
    const ZoneId = await newZone();
    const { OriginGroupId } = await api.CreateOriginGroup({ ZoneId, Name: "og-1", Type: "GENERAL",
      Records: [{ Record: "1.1.1.1", Type: "IP_DOMAIN", Weight: 20 }, { Record: "1.0.0.1", Weight: 80 }] });
    assert.match(OriginGroupId, /^origin-[0-9a-f-]{36}$/);
    let g = (await api.DescribeOriginGroup({ ZoneId, Filters: [{ Name: "origin-group-name", Values: ["og"], Fuzzy: true }] })).OriginGroups;
    assert.equal(g.length, 1);
    assert.deepEqual(g[0].Records.map((x) => [x.Record, x.Weight]), [["1.1.1.1", 20], ["1.0.0.1", 80]]);
    assert.equal(await errorCode(() => api.CreateOriginGroup({ ZoneId, Name: "og-1", Type: "GENERAL", Records: [{ Record: "1.1.1.1" }] })), "InvalidParameter.OriginNameExists");
    assert.equal(await errorCode(() => api.CreateOriginGroup({ ZoneId, Name: "og-2", Type: "GENERAL", Records: [{ Record: "1.1.1.1", Weight: 101 }] })), "InvalidParameter.OriginRecordWeightValue");
    assert.equal(await errorCode(() => api.CreateOriginGroup({ ZoneId, Name: "og-3", Type: "GENERAL", Records: [{ Record: "192.168.1.1" }] })), "InvalidParameter.InvalidOriginIp");

    const http = await api.CreateOriginGroup({ ZoneId, Name: "web", Type: "HTTP", Records: [{ Record: "2.2.2.2" }] });
    const ProxyId = await onlineProxy(ZoneId, "grouped");
    const useGroup = (id) => api.CreateL4ProxyRules({ ZoneId, ProxyId, L4ProxyRules: [tcpRule(443, { OriginType: "ORIGIN_GROUP", OriginValue: [id], OriginPortRange: "443" })] });
    assert.equal(await errorCode(() => useGroup(http.OriginGroupId)), "InvalidParameter.InvalidOriginValue");
    const { L4ProxyRuleIds } = await useGroup(OriginGroupId);

    g = (await api.DescribeOriginGroup({ ZoneId, Filters: [{ Name: "origin-group-id", Values: [OriginGroupId] }] })).OriginGroups;
    assert.deepEqual(g[0].References.map((x) => [x.InstanceType, x.InstanceId, x.InstanceName]), [["application-proxy", ProxyId, "grouped"]]);
    assert.equal(await errorCode(() => api.DeleteOriginGroup({ ZoneId, GroupId: OriginGroupId })), "OperationDenied.OriginGroupL4Used");
    assert.equal(await errorCode(() => api.ModifyOriginGroup({ ZoneId, GroupId: OriginGroupId, Type: "HTTP" })), "OperationDenied.OriginGroupL4Used");

    const keep = g[0].Records[0].RecordId;
    await api.ModifyOriginGroup({ ZoneId, GroupId: OriginGroupId, Name: "og-renamed", Records: [{ Record: "1.1.1.1", RecordId: keep }, { Record: "9.9.9.9" }] });
    g = (await api.DescribeOriginGroup({ ZoneId, Filters: [{ Name: "origin-group-id", Values: [OriginGroupId] }] })).OriginGroups;
    assert.equal(g[0].Name, "og-renamed");
    assert.deepEqual(g[0].Records.map((x) => x.Record), ["1.1.1.1", "9.9.9.9"]);
    assert.equal(g[0].Records[0].RecordId, keep);

    const h = await api.DescribeOriginGroupHealthStatus({ ZoneId, LBInstanceId: "lb-unused", OriginGroupIds: [OriginGroupId] });
    // Undetected until the server's first statistics minute, then what the
    // TCP rule's health checks see (internal/server TestEdgeOneL4EndToEnd
    // checks the values with real origins).
    const st = h.OriginGroupHealthStatusList[0].OriginHealthStatus;
    assert.deepEqual(st.map((x) => x.Origin), ["1.1.1.1", "9.9.9.9"]);
    for (const x of st) assert.ok(["Undetected", "Healthy", "Unhealthy"].includes(x.Healthy), x.Healthy);

    await api.DeleteL4ProxyRules({ ZoneId, ProxyId, RuleIds: L4ProxyRuleIds });
    await api.DeleteOriginGroup({ ZoneId, GroupId: OriginGroupId });
    const left = await api.DescribeOriginGroup({ ZoneId });
    assert.deepEqual(left.OriginGroups.map((x) => x.Name), ["web"]);
    assert.equal(await errorCode(() => api.DeleteOriginGroup({ ZoneId, GroupId: OriginGroupId })), "ResourceNotFound");
  });
});

describe("statistics", () => {
  test("DescribeTimingL4Data answers zero-filled series and checks its input", async () => {
    const ZoneId = await newZone();
    const ProxyId = await onlineProxy(ZoneId, "stats");
    const base = { ZoneIds: [ZoneId], StartTime: "2025-10-01T08:00:00+08:00", EndTime: "2025-10-01T10:00:00+08:00", Interval: "hour" };
    const r = await api.DescribeTimingL4Data({ ...base, MetricNames: ["l4Flow_connections", "l4Flow_newConnectionsRate"],
      Filters: [{ Key: "proxyId", Operator: "equals", Value: [ProxyId] }] });
    assert.equal(r.TotalCount, 1);
    const [v] = r.Data[0].TypeValue;
    assert.equal(v.MetricName, "l4Flow_connections");
    assert.deepEqual(v.Detail.map((x) => x.Timestamp), [1759276800, 1759280400, 1759284000]);
    assert.deepEqual([v.Sum, v.Max, v.Avg], [0, 0, 0]);
    assert.equal(r.Data[0].FloatTypeValue[0].MetricName, "l4Flow_newConnectionsRate");

    assert.equal(await errorCode(() => api.DescribeTimingL4Data({ ...base, MetricNames: ["l7Flow_flux"] })), "InvalidParameterValue");
    assert.equal(await errorCode(() => api.DescribeTimingL4Data({ ...base, MetricNames: ["l4Flow_flux"], EndTime: "2025-12-01T00:00:00+08:00" })), "LimitExceeded.QueryTimeLimitExceeded");
    assert.equal(await errorCode(() => api.DescribeTimingL4Data({ ...base, MetricNames: ["l4Flow_flux"], Interval: "week" })), "InvalidParameterValue");
    assert.equal(await errorCode(() => api.DescribeTimingL4Data({ ...base, MetricNames: ["l4Flow_flux"], ZoneIds: ["zone-000000000000"] })), "ResourceNotFound");
  });
});
