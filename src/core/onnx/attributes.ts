/**
 * The one home for ONNX node attributes: reading them off a node (with a fallback when absent)
 * and building them for new nodes. Imports onnx-proto directly, not ./model, because
 * validate.ts (which model.ts imports) reads attributes too.
 */
import { onnx } from 'onnx-proto';
import { toNumber } from './int64';

// ---- reading ----

export function findAttr(node: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

export function attrInt(node: onnx.INodeProto, name: string, fallback: number): number {
  const a = findAttr(node, name);
  return a ? toNumber(a.i) : fallback;
}

export function attrFloat(node: onnx.INodeProto, name: string, fallback: number): number {
  const a = findAttr(node, name);
  return a ? (a.f ?? fallback) : fallback;
}

/** The attribute's int list, or null when the node has no such attribute. */
export function attrInts(node: onnx.INodeProto, name: string): number[] | null {
  const a = findAttr(node, name);
  return a ? (a.ints ?? []).map((v) => toNumber(v)) : null;
}

export function attrString(node: onnx.INodeProto, name: string, fallback: string): string {
  const a = findAttr(node, name);
  return a?.s ? Buffer.from(a.s).toString() : fallback;
}

// ---- building ----

export type AttrValue = number | number[] | string | onnx.ITensorProto;

const AT = onnx.AttributeProto.AttributeType;

/**
 * An attribute typed from its value: string, int list, tensor, or a number — INT when it is an
 * integer, FLOAT otherwise or when `forceFloat` (ONNX reads FLOAT attributes such as alpha = 1).
 */
export function makeAttr(name: string, value: AttrValue, forceFloat = false): onnx.IAttributeProto {
  if (typeof value === 'string') return { name, type: AT.STRING, s: Buffer.from(value) };
  if (Array.isArray(value)) return { name, type: AT.INTS, ints: value };
  if (typeof value === 'number') {
    return forceFloat || !Number.isInteger(value)
      ? { name, type: AT.FLOAT, f: value }
      : { name, type: AT.INT, i: value };
  }
  return { name, type: AT.TENSOR, t: value };
}
