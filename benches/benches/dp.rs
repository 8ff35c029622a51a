//! DP benchmarks, each paired with a Python peer (see benches/README.md):
//! - the RDP accountant: epsilon for q = 0.01, sigma = 1.1, 10 000 steps, delta = 1e-5 on
//!   dp-accounting's 156-order grid (peer: benches/peers/rdp_accountant_peer.py);
//! - DP-SGD on an MLP 784-256-10, batch 256 (ghost clipping, C = 1, z = 1) and the same
//!   non-private SGD step (peer: benches/peers/dp_opacus.py). Samples/s = 256 / time per step.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use noisekit::accounting::{epsilon_for, DP_ACCOUNTING_ORDERS};
use noisekit::models::loss::softmax_cross_entropy;
use noisekit::models::mlp::{Activation, Init, Mlp, MlpCache};
use noisekit::privacy::{mlp_dp_step, GhostWorkspace, NanPolicy};
use noisekit::rng::{seq, NoiseKey};

fn accountant(c: &mut Criterion) {
    c.bench_function("dp/epsilon q=0.01 sigma=1.1 T=1e4 (156 orders)", |b| {
        b.iter(|| {
            epsilon_for(
                black_box(0.01),
                black_box(1.1),
                black_box(10_000),
                black_box(1e-5),
                &DP_ACCOUNTING_ORDERS,
            )
            .map(|g| g.value)
        })
    });
}

const BATCH: usize = 256;

struct Setup {
    mlp: Mlp,
    x: Vec<f32>,
    y: Vec<usize>,
    cache: MlpCache,
    d: Vec<f32>,
    grads: Vec<f32>,
    dp: Vec<f32>,
    ws: GhostWorkspace,
}

fn setup() -> Setup {
    let mut rng = seq::default_rng(1);
    let mlp = Mlp::new(&[784, 256, 10], Activation::Relu, Init::He, &mut rng).expect("mlp");
    let x = (0..BATCH * 784)
        .map(|_| seq::normal(&mut rng) as f32)
        .collect();
    let y = (0..BATCH).map(|i| i % 10).collect();
    let p = mlp.params.len();
    Setup {
        mlp,
        x,
        y,
        cache: MlpCache::default(),
        d: vec![0.0; BATCH * 10],
        grads: vec![0.0; p],
        dp: vec![0.0; p],
        ws: GhostWorkspace::default(),
    }
}

fn sgd(params: &mut [f32], g: &[f32], lr: f32) {
    params.iter_mut().zip(g).for_each(|(p, &g)| *p -= lr * g);
}

fn mlp_steps(c: &mut Criterion) {
    let mut group = c.benchmark_group("dp/mlp 784-256-10 batch 256");
    group.throughput(Throughput::Elements(BATCH as u64));
    let mut s = setup();
    group.bench_function("non-private SGD step", |b| {
        b.iter(|| {
            let logits = s
                .mlp
                .forward(&s.x, BATCH, &mut s.cache)
                .expect("fwd")
                .to_vec();
            softmax_cross_entropy(&logits, &s.y, 10, &mut s.d).expect("loss");
            s.mlp
                .backward(&mut s.cache, &s.d, &mut s.grads)
                .expect("bwd");
            let Setup { mlp, grads, .. } = &mut s;
            sgd(&mut mlp.params, grads, 1e-3);
        })
    });
    let mut s = setup();
    let mut t = 0u64;
    group.bench_function("DP-SGD step (ghost clipping, C=1, z=1)", |b| {
        b.iter(|| {
            let logits = s
                .mlp
                .forward(&s.x, BATCH, &mut s.cache)
                .expect("fwd")
                .to_vec();
            softmax_cross_entropy(&logits, &s.y, 10, &mut s.d).expect("loss");
            s.d.iter_mut().for_each(|v| *v *= BATCH as f32);
            let key = NoiseKey::new(3, 0).advanced(t * 1_000_000);
            t += 1;
            mlp_dp_step(
                &s.mlp,
                &mut s.cache,
                &s.d,
                1.0,
                1.0,
                BATCH as f32,
                NanPolicy::Error,
                &key,
                &mut s.ws,
                &mut s.dp,
            )
            .expect("dp");
            let Setup { mlp, dp, .. } = &mut s;
            sgd(&mut mlp.params, dp, 1e-3);
        })
    });
    group.finish();
}

criterion_group!(benches, accountant, mlp_steps);
criterion_main!(benches);
