// ONNX Runtime side of `make bench-hhem`: runs DIR/model.onnx (exported by
// bench_hhem_torch.py from the weights `hhembench gen` wrote) with npm's
// onnxruntime-node on the CPU, as a benchmark worker (protocol: hhembench's
// package comment). Graph optimisations are on (ORT's default, "all");
// BENCH_THREADS sets the intra-op threads, inter-op stays 1 (sequential).
//
//   node scripts/bench_hhem_ort.mjs DIR
//
// onnxruntime-node is resolved from ORT_NODE_MODULES (the node_modules of an
// `npm install --ignore-scripts onnxruntime-node`), so nothing is installed
// in the repository.
import { createRequire } from "node:module";
import path from "node:path";
import readline from "node:readline";

const dir = process.argv[2];
const threads = Number(process.env.BENCH_THREADS || "1");
const require = createRequire(path.join(process.env.ORT_NODE_MODULES || ".", "noop.js"));
const ort = require("onnxruntime-node");

const session = await ort.InferenceSession.create(path.join(dir, "model.onnx"), {
  executionProviders: ["cpu"],
  graphOptimizationLevel: "all",
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: "sequential",
  // Spinning threads would keep a core busy after each pass, while the
  // other contenders take their turn: the interleaved rounds would then
  // time them against ORT's idle spin rather than on a quiet machine.
  extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
});
console.error(`onnxruntime-node ${ort.env.versions?.common ?? "?"}, ${threads} thread(s)`);
console.log("ready");

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  if (line.trim() === "rss") {
    console.log((process.resourceUsage().maxRSS / 1024).toFixed(0)); // kB → MB
    continue;
  }
  const ids = BigInt64Array.from(line.trim().split(/\s+/), (t) => BigInt(t));
  const feeds = { ids: new ort.Tensor("int64", ids, [ids.length]) };
  const t0 = process.hrtime.bigint();
  const { logits } = await session.run(feeds);
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  const [l0, l1] = logits.data;
  console.log(`${sec.toFixed(6)} ${(1 / (1 + Math.exp(l0 - l1))).toFixed(9)}`);
}
