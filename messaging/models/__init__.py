"""Messaging models: what is sent (templates, layouts), to whom and when (messages, broadcasts),
and what recipients allowed (topics, opt-outs, suppressions, consent log)."""

from .audience import ConsentLog, Suppression, Topic, TopicOptOut
from .broadcasts import Broadcast, BroadcastVariant
from .deliverability import SendingHold
from .messages import Channel, Message, MessageStatus, SourceType
from .settings import MessagingSettings
from .templates import (
    EmailTemplate,
    Layout,
    MediaAsset,
    SavedBlock,
    SmsTemplate,
    SmsTemplateVersion,
    TemplateVersion,
)

__all__ = [
    "Broadcast",
    "BroadcastVariant",
    "Channel",
    "ConsentLog",
    "EmailTemplate",
    "Layout",
    "MediaAsset",
    "Message",
    "MessageStatus",
    "MessagingSettings",
    "SavedBlock",
    "SmsTemplate",
    "SmsTemplateVersion",
    "SourceType",
    "SendingHold",
    "Suppression",
    "TemplateVersion",
    "Topic",
    "TopicOptOut",
]
