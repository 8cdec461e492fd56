/**
 * All of differentiation is this ONE table of small per-op rules (after tinygrad's gradient.py)
 * plus the reverse walk in autodiff.ts. A rule receives the node, the gradients of its outputs
 * (null where an output does not reach the loss) and which inputs need a gradient; it emits ONNX
 * nodes through the Emitter and returns one gradient name (or null) per input.
 * Shapes are static: the shape probe ran the forward graph at the training batch shape.
 */
import { ELEMENTWISE_GRADIENTS } from './elementwiseGradients';
import type { GradRule } from './gradRuleKit';
import { LAYER_GRADIENTS } from './layerGradients';
import { SHAPE_GRADIENTS } from './shapeGradients';

/** The one table: op type → gradient rule, assembled from the rule families. */
export const GRADIENTS: Record<string, GradRule> = {
  ...ELEMENTWISE_GRADIENTS,
  ...SHAPE_GRADIENTS,
  ...LAYER_GRADIENTS,
};

/** Ops whose outputs carry no gradient (shapes, comparisons, index arithmetic). */
export const NON_DIFFERENTIABLE = new Set([
  'Shape',
  'Size',
  'Equal',
  'Greater',
  'Less',
  'GreaterOrEqual',
  'LessOrEqual',
  'Not',
  'And',
  'Or',
  'Xor',
  'Range',
  'ConstantOfShape',
  'Constant',
  'ArgMax',
  'ArgMin',
  'NonZero',
  'OneHot',
  'IsNaN',
  'IsInf',
  'Sign',
  'Floor',
  'Ceil',
  'Round',
  'EyeLike',
  'RandomNormal',
  'RandomUniform',
  'RandomNormalLike',
  'RandomUniformLike',
  'Bernoulli',
]);
