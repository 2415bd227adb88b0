// ONNX Runtime side of `make bench-hhem`: runs DIR/model-batch.onnx
// (exported by bench_hhem_torch.py from the weights `hhembench gen` wrote;
// ids [batch, tokens] → logits [batch, 2]) with npm's onnxruntime-node on
// the CPU, as a benchmark worker (protocol: hhembench's package comment: a
// request's pairs, all of one length, run as one [N, L] tensor). Graph optimisations are on (ORT's default, "all");
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

const session = await ort.InferenceSession.create(path.join(dir, "model-batch.onnx"), {
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
  const pairs = line.split("|").map((p) => p.trim().split(/\s+/));
  const n = pairs[0].length;
  if (pairs.some((p) => p.length !== n)) throw new Error("a request's pairs must have one length");
  const ids = BigInt64Array.from(pairs.flat(), (t) => BigInt(t));
  const feeds = { ids: new ort.Tensor("int64", ids, [pairs.length, n]) };
  const t0 = process.hrtime.bigint();
  const { logits } = await session.run(feeds);
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  if (logits.data.length !== 2 * pairs.length) throw new Error(`logits ${logits.dims} for ${pairs.length} pairs`);
  const scores = pairs.map((_, j) => {
    const [l0, l1] = [logits.data[2 * j], logits.data[2 * j + 1]];
    return (1 / (1 + Math.exp(l0 - l1))).toFixed(9);
  });
  console.log(`${sec.toFixed(6)} ${scores.join(" ")}`);
}
