// Starts the real opengaap binary for the Node SDK tests: builds it, runs
// `opengaap serve` on a free loopback port with fixed root credentials and a
// private vip pool, and returns teo clients pointed at it.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as teoSdk from "tencentcloud-sdk-nodejs-teo";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const secretId = "AKIDnodetest0000000000000000000000";
const secretKey = "nodetestsecretkey000000000000000";

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, child, ms = 30000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`opengaap exited with ${child.exitCode}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => { s.destroy(); resolve(true); });
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`opengaap did not listen on ${port} within ${ms} ms`);
}

// loopbackAgent resolves every host to 127.0.0.1: the SDK takes the signing
// service from the endpoint's first label (teo.localhost), and not every
// system resolver maps *.localhost to the loopback address.
const loopbackAgent = new http.Agent({
  lookup(host, opts, cb) {
    if (opts && opts.all) return cb(null, [{ address: "127.0.0.1", family: 4 }]);
    cb(null, "127.0.0.1", 4);
  },
});

/**
 * Starts a server; extraArgs are appended to `opengaap serve`. The binary is
 * OPENGAAP_BIN when set (scripts/node-tests.sh builds it once), else built here.
 */
export async function startServer(extraArgs = []) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "opengaap-node-"));
  let bin = process.env.OPENGAAP_BIN;
  if (!bin) {
    bin = path.join(dir, "opengaap");
    execFileSync("go", ["build", "-o", bin, "./cmd/opengaap"], { cwd: repo, stdio: "inherit" });
  }
  const port = await freePort();
  const pool = `127.${100 + (process.pid % 100)}.${port % 256}.0/24`;
  const child = spawn(bin, ["serve", "--api-listen", `127.0.0.1:${port}`, "--data-dir", path.join(dir, "data"),
    "--vip-pool", pool, ...extraArgs], {
    env: { ...process.env, TENCENTCLOUD_SECRET_ID: secretId, TENCENTCLOUD_SECRET_KEY: secretKey },
    stdio: ["ignore", "ignore", process.env.OPENGAAP_LOG ? "inherit" : "ignore"],
  });
  await waitForPort(port, child);
  const client = new teoSdk.teo.v20220901.Client({
    credential: { secretId, secretKey },
    region: "",
    profile: { httpProfile: { endpoint: `teo.localhost:${port}`, protocol: "http://", reqTimeout: 30, agent: loopbackAgent } },
  });
  return {
    client,
    pool,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Calls fn and returns the API error code it throws (fails if it succeeds). */
export async function errorCode(fn) {
  try {
    await fn();
  } catch (e) {
    if (!e.code) throw e;
    return e.code;
  }
  throw new Error("the call succeeded; want an API error");
}

/** Polls cond every 100 ms until it returns a truthy value (10 s at most). */
export async function eventually(cond, what) {
  const deadline = Date.now() + 10000;
  let last;
  while (Date.now() < deadline) {
    last = await cond();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
