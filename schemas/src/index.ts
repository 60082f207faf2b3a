export { generateContract, lintSchemas, loadSchemas, type TopicSchema, type AvroField } from './codegen.ts';
