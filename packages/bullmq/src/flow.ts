// Producer side for FlowProducer: every node of a flow has data of its own, so each is stamped.
import type { ScopeSnapshot } from '@knex-scopes/core';
import { snapshotToStamp, stamp } from './job-data';

/** The part of a BullMQ FlowJob this module reads (structural, so any bullmq 6 flow type fits). */
export interface FlowNode {
  readonly name: string;
  readonly queueName: string;
  readonly data?: unknown;
  readonly children?: readonly FlowNode[];
}

function walk<F extends FlowNode>(node: F, snapshot: ScopeSnapshot): F {
  const copy: { data: object; children?: readonly FlowNode[] } = {
    ...node,
    data: stamp(node.data as object | undefined, snapshot, 'scopedFlow()'),
  };
  if (node.children !== undefined) copy.children = node.children.map((child) => walk(child, snapshot));
  return copy as unknown as F;
}

/**
 * A copy of `flow` whose every node (parent and children, at any depth) carries the same
 * snapshot: the one given, else the scope in force (none: ScopeError SCOPE_MISSING).
 */
export function scopedFlow<F extends FlowNode>(flow: F, snapshot?: ScopeSnapshot): F {
  return walk(flow, snapshotToStamp(snapshot, 'scopedFlow()'));
}
