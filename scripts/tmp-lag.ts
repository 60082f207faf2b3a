import { Kafka, logLevel } from 'kafkajs';
const kafka = new Kafka({ clientId: 'lag', brokers: ['127.0.0.1:19092'], logLevel: logLevel.NOTHING });
const admin = kafka.admin(); await admin.connect();
const ns = process.argv[2]!;
for (const [g, t] of [[`${ns}.router-route.people`, `${ns}.cms.router-people.v1`], [`${ns}.router-route.route`, `${ns}.cms.router-inbox.v1`], [`${ns}.router-ingest.ingest`, `${ns}.cms.sr-facts.v1`]] as const) {
  const c = await admin.fetchOffsets({ groupId: g, topics: [t] });
  const e = await admin.fetchTopicOffsets(t);
  console.log(g, t, e.map((x) => `${x.partition}:${x.low}-${x.high}@${c[0]?.partitions.find((p) => p.partition === x.partition)?.offset}`).join(' '));
}
await admin.disconnect();
