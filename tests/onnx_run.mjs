// tests/onnx_run.mjs: runs an ONNX file in ONNX Runtime (npm's onnxruntime-node, in the
// repository's git-ignored node_modules) on one float32 tensor: the oracle of tests/test_onnx.cpp.
//   node tests/onnx_run.mjs MODEL.onnx INPUT.bin N,C,H,W OUTPUT.bin
// INPUT.bin and OUTPUT.bin are raw little-endian float32, C order; OUTPUT.bin's shape is printed
// on stdout ("2,5"). Exit status 3 when onnxruntime-node is not installed (the test then skips).
import { readFileSync, writeFileSync } from 'node:fs';

let ort;
try {
  ort = (await import('onnxruntime-node')).default;
} catch (e) {
  console.error('onnx_run: onnxruntime-node is not installed: ' + e.message);
  process.exit(3);
}
const [model, input, dims, output] = process.argv.slice(2);
const shape = dims.split(',').map(Number);
const raw = readFileSync(input);
const data = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, shape) };
const result = await session.run(feeds);
const y = result[session.outputNames[0]];
writeFileSync(output, Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
console.log(y.dims.join(','));
