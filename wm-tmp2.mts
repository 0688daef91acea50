import { spawnSync } from 'node:child_process';
import { detectAudioWatermark, embedAudioWatermark, DETECT_RATE } from './src/watermark/audio.ts';
const FF='node_modules/@ffmpeg-installer/linux-x64/ffmpeg';
const ff=(a:string[],i?:Buffer)=>{const r=spawnSync(FF,['-hide_banner','-loglevel','error',...a],{input:i,maxBuffer:1<<29}); if(r.status) throw new Error(r.stderr.toString()); return r.stdout;};
const f32=(b:Buffer)=>new Float32Array(b.buffer.slice(b.byteOffset,b.byteOffset+b.byteLength));
const ID=Uint8Array.from([1,2,3,4,5,6,7,8]);
const f=process.argv[2]!;
const pcm=f32(ff(['-i',f,'-ac','1','-ar','44100','-f','f32le','pipe:1']));
const m=embedAudioWatermark([pcm],44100,ID,'k1')[0]!;
const mono=f32(ff(['-f','f32le','-ar','44100','-ac','1','-i','pipe:0','-ar',String(DETECT_RATE),'-f','f32le','pipe:1'],Buffer.from(m.buffer)));
for (const [a,b] of [[0,11],[0,5],[2,7],[4,9],[6,11],[0,8],[3,11]]) {
  const d=detectAudioWatermark(mono.subarray(a*16000,b*16000),'k1'); console.log(a,b, d?`ok corr=${d.correctedBytes}`:'miss');
}
