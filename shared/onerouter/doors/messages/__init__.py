"""Anthropic's Messages API as a front door: `body` validates a request, `request` turns it into
the internal chat request, `answer` turns a chat completion into a Message, `events` turns a
stream of chat chunks into Anthropic's stream events, `errors` words errors as Anthropic does."""
