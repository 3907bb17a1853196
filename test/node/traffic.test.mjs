// End-to-end traffic through EdgeOne (teo) L4 rules: the official Node SDK
// configures a zone, an L4 proxy and rules on the real opengaap binary;
// node's net/dgram send real traffic to the proxy's access address; the Go
// test origin (test/origin) reports, as one JSON line, the client address
// it decoded from the PROXY v1/v2 or SPP header and the payload. Then rules
// go offline, online and are deleted, and the ports follow.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import dgram from "node:dgram";
import { mkdtempSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { eventually, startServer } from "./server.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
// The origin gets a loopback address of its own: on 127.0.0.1 its ports could
// collide with ephemeral ports of other processes.
const originHost = `127.77.204.${1 + Math.floor(Math.random() * 250)}`;
const base = 20000 + Math.floor(Math.random() * 400) * 100; // Origin ports base+1..base+20.

let srv, api, origin, access;
let ZoneId, ProxyId;
const rules = {};

/** Starts the Go origin with its -listen specs and waits for "ready". */
async function startOrigin(specs) {
  let bin = process.env.OPENGAAP_ORIGIN_BIN;
  if (!bin) {
    bin = path.join(mkdtempSync(path.join(os.tmpdir(), "origin-")), "origin");
    execFileSync("go", ["build", "-o", bin, "./test/origin"], { cwd: repo, stdio: "inherit" });
  }
  const child = spawn(bin, specs.flatMap((s) => ["-listen", s]), { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("origin not ready in 10 s")), 10000);
    child.stdout.on("data", (d) => { if (String(d).includes("ready")) { clearTimeout(timer); resolve(); } });
    child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`origin exited ${code}`)); });
  });
  return child;
}

/** Sends one line over TCP and returns the origin's JSON answer. */
function tcpAsk(port, payload) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: access, port, timeout: 3000 }, () => s.write(payload + "\n"));
    let buf = "";
    s.on("data", (d) => { buf += d; });
    s.on("end", () => { try { resolve({ r: JSON.parse(buf), local: `${s.localAddress}:${s.localPort}` }); } catch (e) { reject(new Error(`bad answer ${buf}`)); } });
    s.on("timeout", () => { s.destroy(); reject(new Error(`tcp ${port}: timeout`)); });
    s.on("error", reject);
  });
}

/** Resolves to the error code of a TCP connect (undefined if it connects). */
function tcpConnectError(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: access, port, timeout: 2000 }, () => { s.destroy(); resolve(undefined); });
    s.on("error", (e) => resolve(e.code));
    s.on("timeout", () => { s.destroy(); resolve("ETIMEDOUT"); });
  });
}

/** Sends one datagram; resolves to { r, local } or null without an answer within ms. */
function udpAsk(port, payload, ms = 2000) {
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    const timer = setTimeout(() => { s.close(); resolve(null); }, ms);
    s.on("message", (m) => {
      clearTimeout(timer);
      const { address, port: lp } = s.address();
      s.close();
      resolve({ raw: m, r: JSON.parse(String(m)), local: `${address === "0.0.0.0" ? "127.0.0.1" : address}:${lp}` });
    });
    s.on("error", () => { clearTimeout(timer); s.close(); resolve(null); });
    s.send(payload, port, access);
  });
}

async function rulesStatus(status) {
  return eventually(async () => {
    const r = await api.DescribeL4ProxyRules({ ZoneId, ProxyId, Offset: 0, Limit: 100 });
    return r.L4ProxyRules.every((x) => x.Status === status) && r;
  }, `rules ${status}`);
}

before(async () => {
  origin = await startOrigin([
    `tcp/ppv1/${originHost}:${base + 1}-${base + 5}`,
    `tcp/ppv2/${originHost}:${base + 11}`, `udp/ppv2/${originHost}:${base + 12}`,
    `udp/spp/${originHost}:${base + 13}`,
    `tcp/off/${originHost}:${base + 14}`, `udp/off/${originHost}:${base + 15}`,
  ]);
  srv = await startServer();
  api = srv.client;
  ({ ZoneId } = await api.CreateZone({ Type: "noDomainAccess" }));
  ({ ProxyId } = await api.CreateL4Proxy({ ZoneId, ProxyName: "traffic", Area: "mainland" }));
  const p = await eventually(async () => {
    const r = await api.DescribeL4Proxy({ ZoneId, Filters: [{ Name: "proxy-id", Values: [ProxyId] }] });
    return r.L4Proxies[0].Status === "online" && r.L4Proxies[0];
  }, "proxy online");
  access = p.Cname;
  const rule = (Protocol, port, originPort, mode) => ({ Protocol, PortRange: [port], OriginType: "IP_DOMAIN",
    OriginValue: [originHost], OriginPortRange: originPort, ClientIPPassThroughMode: mode });
  const specs = {
    ppv1: rule("TCP", "81-85", `${base + 1}-${base + 5}`, "PPV1"),
    ppv2tcp: rule("TCP", "86", `${base + 11}`, "PPV2"),
    ppv2udp: rule("UDP", "86", `${base + 12}`, "PPV2"),
    spp: rule("UDP", "87", `${base + 13}`, "SPP"),
    offtcp: rule("TCP", "88", `${base + 14}`, "OFF"),
    offudp: rule("UDP", "88", `${base + 15}`, "OFF"),
  };
  const { L4ProxyRuleIds } = await api.CreateL4ProxyRules({ ZoneId, ProxyId, L4ProxyRules: Object.values(specs) });
  Object.keys(specs).forEach((k, i) => { rules[k] = L4ProxyRuleIds[i]; });
  await rulesStatus("online");
});

after(async () => {
  origin?.kill("SIGTERM");
  await srv?.stop();
});

describe("teo L4 traffic", () => {
  test("PPV1 over a port range maps each port to its origin port", async () => {
    for (let i = 0; i < 5; i++) {
      const { r, local } = await tcpAsk(81 + i, `range-${i}`);
      assert.equal(r.error, undefined);
      assert.deepEqual([r.mode, r.client, r.payload, r.local], ["ppv1", local, `range-${i}`, `${originHost}:${base + 1 + i}`]);
    }
  });

  test("PPV2 on TCP and UDP", async () => {
    const t = await tcpAsk(86, "v2-tcp");
    assert.deepEqual([t.r.error, t.r.mode, t.r.client, t.r.payload], [undefined, "ppv2", t.local, "v2-tcp"]);
    const u = await udpAsk(86, "v2-udp");
    assert.ok(u, "no UDP answer");
    assert.deepEqual([u.r.error, u.r.mode, u.r.client, u.r.payload], [undefined, "ppv2", u.local, "v2-udp"]);
  });

  test("SPP on UDP, header stripped from the reply", async () => {
    const u = await udpAsk(87, "spp-udp");
    assert.ok(u, "no UDP answer");
    assert.equal(u.raw[0], "{".charCodeAt(0), "reply starts with the JSON, not the SPP header");
    assert.deepEqual([u.r.error, u.r.mode, u.r.client, u.r.payload], [undefined, "spp", u.local, "spp-udp"]);
  });

  test("OFF passes bytes unchanged", async () => {
    const t = await tcpAsk(88, "plain-tcp");
    assert.deepEqual([t.r.mode, t.r.client, t.r.payload], ["off", "", "plain-tcp"]);
    const u = await udpAsk(88, "plain-udp");
    assert.deepEqual([u.r.mode, u.r.client, u.r.payload], ["off", "", "plain-udp"]);
  });

  test("offline, online and deleted rules close and reopen their ports", async () => {
    const off = [rules.offtcp, rules.offudp];
    await api.ModifyL4ProxyRulesStatus({ ZoneId, ProxyId, RuleIds: off, Status: "offline" });
    await eventually(async () => (await tcpConnectError(88)) === "ECONNREFUSED", "TCP 88 refused while offline");
    await eventually(async () => (await udpAsk(88, "x", 300)) === null, "UDP 88 silent while offline");
    assert.equal((await tcpAsk(86, "still")).r.payload, "still", "other rules keep serving");

    await api.ModifyL4ProxyRulesStatus({ ZoneId, ProxyId, RuleIds: off, Status: "online" });
    await eventually(async () => (await tcpConnectError(88)) === undefined, "TCP 88 accepts when online");
    assert.equal((await tcpAsk(88, "back")).r.payload, "back");
    assert.equal((await udpAsk(88, "back-udp")).r.payload, "back-udp");

    await api.DeleteL4ProxyRules({ ZoneId, ProxyId, RuleIds: [rules.ppv1] });
    for (let port = 81; port <= 85; port++) {
      await eventually(async () => (await tcpConnectError(port)) === "ECONNREFUSED", `TCP ${port} closed after delete`);
    }
  });
});
