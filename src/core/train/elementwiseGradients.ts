/** Gradient rules of elementwise ops: arithmetic, activations, Where and variadic Sum/Max/Min. */
import { RecMarkError } from '../errors';
import { attrFloat, attrString } from '../onnx/attributes';
import { onnx } from '../onnx/model';
import { type GradRule, inp, mul, out, unary, winner } from './gradRuleKit';

export const ELEMENTWISE_GRADIENTS: Record<string, GradRule> = {
  Identity: (_e, _n, dy) => [dy[0]],
  Dropout: (_e, _n, dy) => [dy[0], null, null], // exported in inference mode: identity
  Cast: (e, node, dy) => {
    const from = e.elemType(inp(node, 0));
    const isFloat =
      from === onnx.TensorProto.DataType.FLOAT || from === onnx.TensorProto.DataType.DOUBLE;
    return [dy[0] && isFloat ? e.one('Cast', [dy[0]], { to: from }) : null];
  },
  Neg: (e, _n, dy) => [dy[0] ? e.one('Neg', [dy[0]]) : null],
  Add: (e, node, dy, needs) => {
    const [a, b] = [inp(node, 0), inp(node, 1)];
    const g = dy[0]!;
    const od = e.shape(out(node));
    return [
      needs[0] ? e.unbroadcast(g, od, e.shape(a)) : null,
      needs[1] ? e.unbroadcast(g, od, e.shape(b)) : null,
    ];
  },
  Sub: (e, node, dy, needs) => {
    const [a, b] = [inp(node, 0), inp(node, 1)];
    const g = dy[0]!;
    const od = e.shape(out(node));
    return [
      needs[0] ? e.unbroadcast(g, od, e.shape(a)) : null,
      needs[1] ? e.unbroadcast(e.one('Neg', [g]), od, e.shape(b)) : null,
    ];
  },
  Mul: (e, node, dy, needs) => {
    const [a, b] = [inp(node, 0), inp(node, 1)];
    const g = dy[0]!;
    const od = e.shape(out(node));
    return [
      needs[0] ? e.unbroadcast(mul(e, g, b), od, e.shape(a)) : null,
      needs[1] ? e.unbroadcast(mul(e, g, a), od, e.shape(b)) : null,
    ];
  },
  Div: (e, node, dy, needs) => {
    const [a, b] = [inp(node, 0), inp(node, 1)];
    const g = dy[0]!;
    const od = e.shape(out(node));
    const da = needs[0] ? e.unbroadcast(e.one('Div', [g, b]), od, e.shape(a)) : null;
    // d(a/b)/db = −(a/b)/b = −y/b
    const db = needs[1]
      ? e.unbroadcast(e.one('Neg', [mul(e, g, e.one('Div', [out(node), b]))]), od, e.shape(b))
      : null;
    return [da, db];
  },
  Relu: unary((e, x) =>
    e.one('Cast', [e.one('Greater', [x, e.constFloat([0])])], {
      to: onnx.TensorProto.DataType.FLOAT,
    }),
  ),
  Tanh: unary((e, _x, y) => e.one('Sub', [e.constFloat([1]), mul(e, y, y)])),
  Sigmoid: unary((e, _x, y) => mul(e, y, e.one('Sub', [e.constFloat([1]), y]))),
  Exp: unary((_e, _x, y) => y),
  Log: unary((e, x) => e.one('Reciprocal', [x])),
  Sqrt: unary((e, _x, y) => e.one('Div', [e.constFloat([0.5]), y])),
  Reciprocal: unary((e, _x, y) => e.one('Neg', [mul(e, y, y)])),
  Erf: unary((e, x) =>
    mul(e, e.constFloat([2 / Math.sqrt(Math.PI)]), e.one('Exp', [e.one('Neg', [mul(e, x, x)])])),
  ),
  Pow: (e, node, dy, needs) => {
    if (needs[1]) {
      throw new RecMarkError(
        `Pow node "${node.name}": a trained exponent is not supported.`,
        'train-unsupported',
      );
    }
    const [x, p] = [inp(node, 0), inp(node, 1)];
    const pm1 = e.one('Sub', [p, e.constFloat([1])]);
    const local = mul(e, p, e.one('Pow', [x, pm1]));
    return [e.unbroadcast(mul(e, dy[0]!, local), e.shape(out(node)), e.shape(x)), null];
  },
  Where: (e, node, dy, needs) => {
    const [c, x, y] = [inp(node, 0), inp(node, 1), inp(node, 2)];
    const zero = e.constFloat([0]);
    const od = e.shape(out(node));
    return [
      null,
      needs[1] ? e.unbroadcast(e.one('Where', [c, dy[0]!, zero]), od, e.shape(x)) : null,
      needs[2] ? e.unbroadcast(e.one('Where', [c, zero, dy[0]!]), od, e.shape(y)) : null,
    ];
  },

  // Variadic, broadcasting add.
  Sum: (e, node, dy, needs) => {
    const od = e.shape(out(node));
    return (node.input ?? []).map((i, k) =>
      needs[k] ? e.unbroadcast(dy[0]!, od, e.shape(i)) : null,
    );
  },
  Max: winner,
  Min: winner,
  // softplus(x) = log(1 + eˣ), whose derivative is σ(x).
  Softplus: unary((e, x) => e.one('Sigmoid', [x])),
  // Slope 1 above zero, alpha at or below (the kink goes to alpha, as torch).
  LeakyRelu: (e, node, dy) => {
    const x = inp(node, 0);
    const slope = e.one('Where', [
      e.one('Greater', [x, e.constFloat([0])]),
      e.constFloat([1]),
      e.constFloat([attrFloat(node, 'alpha', 0.01)]),
    ]);
    return [mul(e, dy[0]!, slope)];
  },
  // Exact: Φ(x) + x·φ(x); tanh form: ½(1+t) + ½x(1−t²)·√(2/π)(1 + 3·0.044715x²).
  Gelu: (e, node, dy) => {
    const x = inp(node, 0);
    const c = (v: number): string => e.constFloat([v]);
    const half = (t: string): string => mul(e, c(0.5), t);
    let local: string;
    if (attrString(node, 'approximate', 'none') === 'tanh') {
      const k = Math.sqrt(2 / Math.PI);
      const x2 = mul(e, x, x);
      const u = mul(e, c(k), e.one('Add', [x, mul(e, c(0.044715), mul(e, x2, x))]));
      const t = e.one('Tanh', [u]);
      const du = mul(e, c(k), e.one('Add', [c(1), mul(e, c(3 * 0.044715), x2)]));
      const sech2 = e.one('Sub', [c(1), mul(e, t, t)]);
      local = e.one('Add', [half(e.one('Add', [c(1), t])), half(mul(e, x, mul(e, sech2, du)))]);
    } else {
      const cdf = half(e.one('Add', [c(1), e.one('Erf', [mul(e, x, c(Math.SQRT1_2))])]));
      const pdf = mul(
        e,
        c(1 / Math.sqrt(2 * Math.PI)),
        e.one('Exp', [mul(e, c(-0.5), mul(e, x, x))]),
      );
      local = e.one('Add', [cdf, mul(e, x, pdf)]);
    }
    return [mul(e, dy[0]!, local)];
  },
};
