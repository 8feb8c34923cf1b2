// SPDX-License-Identifier: MIT
//
// Reference outputs from TensorFlow.js (pure-JS CPU backend) for the model
// checks in tests/models/.  Test fixture only; never shipped.
//
//   node tfjs_ref.js graph MODEL.json IN.f32 D0,D1,.. OUTDIR NAME[,NAME...]
//       runs the original graph model (tfjs-converter) and writes output i
//       (in the order NAME...) to OUTDIR/out<i>.f32
//   node tfjs_ref.js faceapi-resnet MANIFEST.json IN.f32 D0,D1,.. OUTDIR
//       runs face-api's face recognition network, written here with tfjs
//       ops after @vladmandic/face-api's src/faceRecognitionNet/*.ts, on an
//       input that is already normalised; writes OUTDIR/out0.f32
//
// The @tensorflow packages are found through NODE_PATH.
'use strict';

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');

function fail(msg) {
    process.stderr.write('tfjs_ref: ' + msg + '\n');
    process.exit(1);
}

function readInput(file, dimsArg) {
    const dims = dimsArg.split(',').map((d) => parseInt(d, 10));
    const buf = fs.readFileSync(file);
    const count = dims.reduce((a, b) => a * b, 1);
    if (buf.length !== count * 4)
        fail(file + ' holds ' + buf.length + ' bytes, expected ' + count * 4);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++)
        data[i] = buf.readFloatLE(i * 4);
    return tf.tensor(data, dims, 'float32');
}

function writeOutput(dir, idx, name, t) {
    const data = t.dataSync();
    const buf = Buffer.alloc(data.length * 4);
    for (let i = 0; i < data.length; i++)
        buf.writeFloatLE(data[i], i * 4);
    fs.writeFileSync(path.join(dir, 'out' + idx + '.f32'), buf);
    process.stdout.write('output ' + idx + ' ' + name + ' ' + t.shape.join(',') + '\n');
}

function shardBytes(folder, group) {
    const parts = group.paths.map((p) => fs.readFileSync(path.join(folder, p)));
    const all = Buffer.concat(parts);
    return all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
}

async function runGraph(args) {
    const [modelPath, inFile, dims, outDir, names] = args;
    const converter = require('@tensorflow/tfjs-converter');
    const folder = path.dirname(modelPath);
    const mj = JSON.parse(fs.readFileSync(modelPath, 'utf8'));
    const weightSpecs = [];
    const datas = [];
    for (const group of mj.weightsManifest) {
        weightSpecs.push(...group.weights);
        datas.push(Buffer.from(shardBytes(folder, group)));
    }
    const all = Buffer.concat(datas);
    const handler = {
        load: async () => ({
            modelTopology: mj.modelTopology,
            weightSpecs,
            weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
            format: mj.format,
            generatedBy: mj.generatedBy,
            convertedBy: mj.convertedBy,
            signature: mj.signature,
            userDefinedMetadata: mj.userDefinedMetadata,
        }),
    };
    const model = await converter.loadGraphModel(handler);
    const x = readInput(inFile, dims);
    const outNames = names.split(',');
    let outs = model.execute(x, outNames);
    if (!Array.isArray(outs))
        outs = [outs];
    outs.forEach((t, i) => writeOutput(outDir, i, outNames[i], t));
}

// face-api FaceRecognitionNet.forwardInput after normalisation.
function faceapiForward(w, x) {
    const convLayer = (inp, p, stride, relu, padding) => {
        let out = tf.conv2d(inp, w[p + '/conv/filters'], stride, padding);
        out = tf.add(out, w[p + '/conv/bias']);
        out = tf.add(tf.mul(out, w[p + '/scale/weights']), w[p + '/scale/biases']);
        return relu ? tf.relu(out) : out;
    };
    const conv = (inp, p) => convLayer(inp, p, 1, true, 'same');
    const convNoRelu = (inp, p) => convLayer(inp, p, 1, false, 'same');
    const convDown = (inp, p) => convLayer(inp, p, 2, true, 'valid');
    const residual = (inp, p) =>
        tf.relu(tf.add(convNoRelu(conv(inp, p + '/conv1'), p + '/conv2'), inp));
    const residualDown = (inp, p) => {
        let out = convNoRelu(convDown(inp, p + '/conv1'), p + '/conv2');
        let pooled = tf.avgPool(inp, 2, 2, 'valid');
        const zeros = tf.zeros(pooled.shape);
        const isPad = pooled.shape[3] !== out.shape[3];
        if (pooled.shape[1] !== out.shape[1] || pooled.shape[2] !== out.shape[2]) {
            const padX = out.shape.slice();
            padX[1] = 1;
            out = tf.concat([out, tf.zeros(padX)], 1);
            const padY = out.shape.slice();
            padY[2] = 1;
            out = tf.concat([out, tf.zeros(padY)], 2);
        }
        pooled = isPad ? tf.concat([pooled, zeros], 3) : pooled;
        return tf.relu(tf.add(pooled, out));
    };
    let out = convDown(x, 'conv32_down');
    out = tf.maxPool(out, 3, 2, 'valid');
    out = residual(out, 'conv32_1');
    out = residual(out, 'conv32_2');
    out = residual(out, 'conv32_3');
    out = residualDown(out, 'conv64_down');
    out = residual(out, 'conv64_1');
    out = residual(out, 'conv64_2');
    out = residual(out, 'conv64_3');
    out = residualDown(out, 'conv128_down');
    out = residual(out, 'conv128_1');
    out = residual(out, 'conv128_2');
    out = residualDown(out, 'conv256_down');
    out = residual(out, 'conv256_1');
    out = residual(out, 'conv256_2');
    out = residualDown(out, 'conv256_down_out');
    return tf.matMul(tf.mean(out, [1, 2]), w.fc);
}

async function runFaceapi(args) {
    const [manifestPath, inFile, dims, outDir] = args;
    const folder = path.dirname(manifestPath);
    const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
    const weights = {};
    for (const group of manifest)
        Object.assign(weights, tf.io.decodeWeights(shardBytes(folder, group), group.weights));
    const x = readInput(inFile, dims);
    writeOutput(outDir, 0, 'descriptor', faceapiForward(weights, x));
}

async function main() {
    await tf.setBackend('cpu');
    await tf.ready();
    const [mode, ...rest] = process.argv.slice(2);
    if (mode === 'graph' && rest.length === 5)
        await runGraph(rest);
    else if (mode === 'faceapi-resnet' && rest.length === 4)
        await runFaceapi(rest);
    else
        fail('usage: tfjs_ref.js graph MODEL.json IN.f32 DIMS OUTDIR NAMES | '
            + 'faceapi-resnet MANIFEST.json IN.f32 DIMS OUTDIR');
}

main().catch((e) => fail(e.stack || String(e)));
