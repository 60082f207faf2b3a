import { createValueCodec, type ValueCodec } from './codec.ts';
import { TOPIC_SCHEMAS, type SchemaTopic, type TopicValue } from './generated/contract.ts';

const cache = new Map<SchemaTopic, ValueCodec<unknown>>();

/** The codec of a topic's values, built once from the generated schema. */
export function codecFor<T extends SchemaTopic>(topic: T): ValueCodec<TopicValue[T]> {
  let codec = cache.get(topic);
  if (!codec) {
    codec = createValueCodec<unknown>(TOPIC_SCHEMAS[topic]);
    cache.set(topic, codec);
  }
  return codec as ValueCodec<TopicValue[T]>;
}

export function isSchemaTopic(name: string): name is SchemaTopic {
  return Object.prototype.hasOwnProperty.call(TOPIC_SCHEMAS, name);
}
