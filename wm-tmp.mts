import { spawnSync } from 'node:child_process';
import { detectAudioWatermark, embedAudioWatermark, DETECT_RATE } from './src/watermark/audio.ts';
const FF='node_modules/@ffmpeg-installer/linux-x64/ffmpeg';
const ff=(a:string[],i?:Buffer)=>{const r=spawnSync(FF,['-hide_banner','-loglevel','error',...a],{input:i,maxBuffer:1<<29}); if(r.status) throw new Error(r.stderr.toString()); return r.stdout;};
const f32=(b:Buffer)=>new Float32Array(b.buffer.slice(b.byteOffset,b.byteOffset+b.byteLength));
const ID=Uint8Array.from([1,2,3,4,5,6,7,8]);
for (const f of process.argv.slice(2)) {
  const pcm=f32(ff(['-i',f,'-ac','1','-ar','44100','-f','f32le','pipe:1']));
  const m=embedAudioWatermark([pcm],44100,ID,'k1')[0]!;
  for (const sp of (process.env.SP??"1.05,1.048,0.97").split(",").map(Number)) {
    const mono=f32(ff(['-f','f32le','-ar','44100','-ac','1','-i','pipe:0','-af',`asetrate=${Math.round(44100*sp)},aresample=44100`,'-ac','1','-ar',String(DETECT_RATE),'-f','f32le','pipe:1'],Buffer.from(m.buffer)));
    let t=performance.now(); const d=detectAudioWatermark(mono,'k1',{speedSearch:true});
    console.log(f.split('/').pop(), sp, d? Buffer.from(d.payload).toString('hex')+' @'+d.speed : 'miss', (performance.now()-t).toFixed(0),'ms');
  }
  const un=f32(ff(['-i',f,'-ac','1','-ar',String(DETECT_RATE),'-f','f32le','pipe:1']));
  let t=performance.now(); const d=detectAudioWatermark(un,'k1',{speedSearch:true}); console.log('unmarked', d?'FALSE':'none', (performance.now()-t).toFixed(0),'ms');
}
