#!/usr/bin/env node
// Outside judge of sex, age and expression: face-api (@vladmandic/face-api), whose networks were
// trained on photographs of real people and whose weights ship inside the npm package.
//
//   node face_attributes.js IMAGE.png ...   ->  one JSON line per image:
//   {"path", "face": bool, "score", "p_female", "age", "expressions": {neutral, happy, ...}}
//
// The largest face SSD-MobileNet finds is aligned with the 68-point net and judged; an image with
// no face found gives {"path", "face": false}.
'use strict';
const fs = require('fs');
const path = require('path');
const { PNG } = require('pngjs');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');

const tf = faceapi.tf;
const MODELS = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');

function readRgb(file) {
  const { width, height, data } = PNG.sync.read(fs.readFileSync(file));
  const rgb = new Int32Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const alpha = data[4 * i + 3] / 255; // over white, as a viewer shows it
    for (let c = 0; c < 3; c++) rgb[3 * i + c] = Math.round(data[4 * i + c] * alpha + 255 * (1 - alpha));
  }
  return tf.tensor3d(rgb, [height, width, 3], 'int32');
}

const round = (v) => Math.round(v * 1000) / 1000;

async function judge(file, options) {
  const image = readRgb(file);
  try {
    const faces = await faceapi.detectAllFaces(image, options).withFaceLandmarks().withAgeAndGender()
      .withFaceExpressions();
    if (faces.length === 0) return { path: file, face: false };
    const f = faces.reduce((a, b) => (b.detection.box.area > a.detection.box.area ? b : a));
    const female = f.gender === 'female' ? f.genderProbability : 1 - f.genderProbability;
    const expressions = Object.fromEntries(Object.entries(f.expressions).map(([k, v]) => [k, round(v)]));
    return { path: file, face: true, score: round(f.detection.score), p_female: round(female), age: round(f.age),
             expressions };
  } finally {
    image.dispose();
  }
}

async function main() {
  await tf.setBackend('wasm');
  await tf.ready();
  for (const net of ['ssdMobilenetv1', 'faceLandmark68Net', 'ageGenderNet', 'faceExpressionNet']) {
    await faceapi.nets[net].loadFromDisk(MODELS);
  }
  const options = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.2, maxResults: 5 });
  for (const file of process.argv.slice(2)) {
    process.stdout.write(JSON.stringify(await judge(file, options)) + '\n');
  }
}

main().catch((error) => { console.error(String(error && error.stack || error)); process.exit(1); });
