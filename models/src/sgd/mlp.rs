//! A multi-layer perceptron classifier (one or two hidden layers) trained by mini-batch SGD,
//! its weights flattened into the parameter vector.
//!
//! Parameters, layer after layer: the weights (`out × in`, row-major: row `o` holds the
//! weights into unit `o`), then the `out` biases. The output is one logistic unit for two
//! classes, `k` softmax units otherwise; the loss is the cross-entropy. L2 (`alpha`) decays the
//! weights, not the biases. Activations, deltas and the gradient live in the state's scratch,
//! so a step allocates nothing.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use super::kernels::{Rows, Targets, axpy, dot, log_loss_grad, sigmoid, softmax};
use super::{Hyper, SgdError, SgdState, StepReport, class_index};

/// The hidden units' non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// max(0, z); weights initialised with He's normal scheme.
    #[default]
    Relu,
    /// tanh(z); weights initialised with Glorot's uniform scheme.
    Tanh,
}

/// The shape of a network: layer sizes from the input to the output, with parameter offsets.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Net {
    /// d, hidden sizes..., outputs (1 for two classes, k otherwise).
    sizes: Vec<usize>,
    activation: Activation,
    /// Per layer: where its weights start (its biases follow them).
    offsets: Vec<usize>,
    n_params: usize,
    /// Total units over all layers but the input (activations and deltas each take this much).
    units: usize,
}

impl Net {
    /// A network for `d` inputs, the given hidden sizes and `classes` classes; `None` when the
    /// parameter count overflows.
    pub(crate) fn new(
        d: usize,
        hidden: &[usize],
        classes: usize,
        activation: Activation,
    ) -> Option<Net> {
        let outputs = if classes == 2 { 1 } else { classes };
        let sizes: Vec<usize> = std::iter::once(d)
            .chain(hidden.iter().copied())
            .chain([outputs])
            .collect();
        let mut offsets = Vec::with_capacity(sizes.len() - 1);
        let mut n_params = 0usize;
        for pair in sizes.windows(2) {
            offsets.push(n_params);
            n_params = n_params.checked_add(pair[0].checked_mul(pair[1])?.checked_add(pair[1])?)?;
        }
        let units = sizes[1..]
            .iter()
            .try_fold(0usize, |a, &s| a.checked_add(s))?;
        Some(Net {
            sizes,
            activation,
            offsets,
            n_params,
            units,
        })
    }

    pub(crate) fn n_params(&self) -> usize {
        self.n_params
    }

    fn layers(&self) -> usize {
        self.sizes.len() - 1
    }

    fn outputs(&self) -> usize {
        self.sizes[self.layers()]
    }

    /// Glorot-uniform / He-normal weights from `seed`, zero biases.
    pub(crate) fn init(&self, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut p = vec![0.0; self.n_params];
        for l in 0..self.layers() {
            let (fan_in, fan_out) = (self.sizes[l], self.sizes[l + 1]);
            let w = &mut p[self.offsets[l]..self.offsets[l] + fan_in * fan_out];
            let hidden = l + 1 < self.layers();
            if hidden && self.activation == Activation::Relu {
                let std = (2.0 / fan_in as f64).sqrt();
                w.iter_mut()
                    .for_each(|v| *v = std * rng.sample::<f64, _>(StandardNormal));
            } else {
                let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
                w.iter_mut().for_each(|v| *v = rng.gen_range(-limit..limit));
            }
        }
        p
    }

    /// Scratch this network needs: activations and deltas of every layer, and the gradient.
    pub(crate) fn scratch_len(&self) -> usize {
        2 * self.units + self.n_params
    }

    /// Forward pass of `x`: fills `acts` with every layer's output, after the non-linearity
    /// for hidden layers; the output layer holds the raw logits.
    fn forward(&self, params: &[f64], x: &[f64], acts: &mut [f64]) {
        let mut start = 0;
        for l in 0..self.layers() {
            let (fan_in, fan_out) = (self.sizes[l], self.sizes[l + 1]);
            let (done, rest) = acts.split_at_mut(start);
            let input: &[f64] = if l == 0 { x } else { &done[start - fan_in..] };
            let out = &mut rest[..fan_out];
            let w_end = self.offsets[l] + fan_in * fan_out;
            let w = &params[self.offsets[l]..w_end];
            let b = &params[w_end..w_end + fan_out];
            for ((o, row), bias) in out.iter_mut().zip(w.chunks_exact(fan_in)).zip(b) {
                *o = dot(row, input) + bias;
            }
            if l + 1 < self.layers() {
                match self.activation {
                    Activation::Relu => out.iter_mut().for_each(|v| *v = v.max(0.0)),
                    Activation::Tanh => out.iter_mut().for_each(|v| *v = v.tanh()),
                }
            }
            start += fan_out;
        }
    }

    /// Class probabilities of `x` into `probs` (length = classes); `acts` is scratch of
    /// [`Net::units`].
    pub(crate) fn probabilities(
        &self,
        params: &[f64],
        x: &[f64],
        acts: &mut [f64],
        probs: &mut [f64],
    ) {
        self.forward(params, x, acts);
        let logits = &acts[self.units - self.outputs()..];
        if let [z] = *logits {
            let p = sigmoid(z);
            probs[0] = 1.0 - p;
            probs[1] = p;
        } else {
            probs.copy_from_slice(logits);
            softmax(probs);
        }
    }

    /// Units over all layers but the input: the length of the activation scratch.
    pub(crate) fn units(&self) -> usize {
        self.units
    }

    /// Forward and backward pass of one sample with class `y`: adds its gradient into `grad`
    /// and returns its loss. `acts` and `deltas` are scratch of `units` each.
    fn sample_gradient(
        &self,
        params: &[f64],
        x: &[f64],
        y: usize,
        acts: &mut [f64],
        deltas: &mut [f64],
        grad: &mut [f64],
    ) -> f64 {
        self.forward(params, x, acts);
        let first_out = self.units - self.outputs();
        let logits = &mut acts[first_out..];
        let dout = &mut deltas[first_out..];
        let loss = if let [z] = *logits {
            let (loss, g) = log_loss_grad(y as f64, z);
            dout[0] = g;
            loss
        } else {
            let zy = logits[y];
            let loss = softmax(logits) - zy;
            for (c, (dv, p)) in dout.iter_mut().zip(logits.iter()).enumerate() {
                *dv = p - if c == y { 1.0 } else { 0.0 };
            }
            loss
        };
        // Backward: layer l's delta gives its gradient and the delta of layer l − 1.
        let mut end = self.units;
        for l in (0..self.layers()).rev() {
            let (fan_in, fan_out) = (self.sizes[l], self.sizes[l + 1]);
            let start = end - fan_out;
            let (lower, upper) = deltas.split_at_mut(start);
            let delta = &upper[..fan_out];
            let input: &[f64] = if l == 0 {
                x
            } else {
                &acts[start - fan_in..start]
            };
            let w_off = self.offsets[l];
            let w_end = w_off + fan_in * fan_out;
            for (g_row, dv) in grad[w_off..w_end].chunks_exact_mut(fan_in).zip(delta) {
                axpy(g_row, *dv, input);
            }
            axpy(&mut grad[w_end..w_end + fan_out], 1.0, delta);
            if l > 0 {
                let below = &mut lower[start - fan_in..];
                below.fill(0.0);
                for (row, dv) in params[w_off..w_end].chunks_exact(fan_in).zip(delta) {
                    axpy(below, *dv, row);
                }
                let a = &acts[start - fan_in..start];
                match self.activation {
                    // The activation kept is max(0, z): its derivative is 1 where it is positive.
                    Activation::Relu => below.iter_mut().zip(a).for_each(|(b, &a)| {
                        if a <= 0.0 {
                            *b = 0.0;
                        }
                    }),
                    Activation::Tanh => below
                        .iter_mut()
                        .zip(a)
                        .for_each(|(b, &a)| *b *= 1.0 - a * a),
                }
            }
            end = start;
        }
        loss
    }
}

/// Train the network on `order`'s rows in mini-batches of `hp.batch`.
pub(crate) fn train(
    net: &Net,
    params: &mut [f64],
    rows: Rows<'_>,
    targets: Targets<'_>,
    order: &[usize],
    st: &mut SgdState,
    hp: &Hyper,
) -> Result<StepReport, SgdError> {
    st.prepare(0, net.scratch_len());
    let SgdState { t, scratch, .. } = st;
    let (acts, rest) = scratch.split_at_mut(net.units);
    let (deltas, grad) = rest.split_at_mut(net.units);
    let classes = if net.outputs() == 1 { 2 } else { net.outputs() };
    let mut loss_sum = 0.0;
    let mut steps = 0u64;
    for batch in order.chunks(hp.batch) {
        grad.fill(0.0);
        for &r in batch {
            let x = rows.row(r)?;
            let y = class_index(targets.get(r)?, classes, r)?;
            loss_sum += net.sample_gradient(params, x, y, acts, deltas, grad);
        }
        *t += 1;
        let eta = hp.schedule.eta(*t);
        let step = -eta / batch.len() as f64;
        let decay = (1.0 - eta * hp.l2).max(0.0);
        for l in 0..net.layers() {
            let n_w = net.sizes[l] * net.sizes[l + 1];
            let off = net.offsets[l];
            let (w, g) = (&mut params[off..off + n_w], &grad[off..off + n_w]);
            for (wi, gi) in w.iter_mut().zip(g) {
                *wi = *wi * decay + step * gi;
            }
            let end = off + n_w + net.sizes[l + 1];
            axpy(&mut params[off + n_w..end], step, &grad[off + n_w..end]);
        }
        steps += 1;
    }
    Ok(StepReport {
        steps,
        samples: order.len() as u64,
        loss_sum,
    })
}

/// Sum over `batch` of the loss and (into `grad`) its gradient: for the gradient check.
#[cfg(test)]
pub(crate) fn batch_gradient(
    net: &Net,
    params: &[f64],
    rows: Rows<'_>,
    targets: Targets<'_>,
    batch: &[usize],
    grad: &mut [f64],
) -> Result<f64, SgdError> {
    let mut acts = vec![0.0; net.units];
    let mut deltas = vec![0.0; net.units];
    let classes = if net.outputs() == 1 { 2 } else { net.outputs() };
    let mut loss = 0.0;
    for &r in batch {
        let y = class_index(targets.get(r)?, classes, r)?;
        loss += net.sample_gradient(params, rows.row(r)?, y, &mut acts, &mut deltas, grad);
    }
    Ok(loss)
}
