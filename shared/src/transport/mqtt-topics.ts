/**
 * Maps bus topics (AMQP style: "a.b", patterns with "*" and "#") onto MQTT
 * topics under `<namespace>/`. MQTT reserves "/", "+" and "#" inside a level
 * and allows "#" only last, so such topics are refused here with a clear
 * error instead of silently matching something else.
 */
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';

const RESERVED_IN_WORD = /[/+#*]/;

function invalid(what: string, value: string, why: string): FedpetError {
  return new FedpetError(ErrorCodes.invalidConfig, `${what} "${value}" cannot be used over MQTT: ${why}`);
}

export function checkNamespace(namespace: string): void {
  if (namespace === '' || RESERVED_IN_WORD.test(namespace) || namespace.startsWith('$'))
    throw invalid('namespace', namespace, 'it must be non-empty, not start with "$" and not contain / + # *');
}

/** A concrete topic for publishing: no wildcards. */
export function toMqttTopic(namespace: string, topic: string): string {
  for (const word of topic.split('.')) {
    if (RESERVED_IN_WORD.test(word)) throw invalid('topic', topic, 'words must not contain / + # *');
  }
  return `${namespace}/${topic.split('.').join('/')}`;
}

/** A subscription pattern: "*" → "+", "#" → "#" (last word only). */
export function toMqttFilter(namespace: string, pattern: string): string {
  const words = pattern.split('.');
  const levels = words.map((word, index) => {
    if (word === '*') return '+';
    if (word === '#') {
      if (index !== words.length - 1)
        throw invalid('pattern', pattern, '"#" is only allowed as the last word');
      return '#';
    }
    if (RESERVED_IN_WORD.test(word))
      throw invalid('pattern', pattern, 'words must not contain / + # * (use whole-word wildcards)');
    return word;
  });
  return `${namespace}/${levels.join('/')}`;
}

/** Inverse of toMqttTopic for received messages. */
export function fromMqttTopic(namespace: string, mqttTopic: string): string {
  const prefix = `${namespace}/`;
  const rest = mqttTopic.startsWith(prefix) ? mqttTopic.slice(prefix.length) : mqttTopic;
  return rest.split('/').join('.');
}

/** Client ids and share-group names: keep them to characters every broker accepts. */
export function sanitizeMqttId(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]/g, '_');
}
