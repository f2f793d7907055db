package heyken.actors.chat;

/** The kind of a chat room, from Rocket.Chat's one-letter {@code t}. */
public enum RoomType {
  /** A public channel ({@code c}). */
  CHANNEL,
  /** A private group ({@code p}). */
  PRIVATE_GROUP,
  /** A direct conversation ({@code d}). */
  DIRECT,
  /** An omnichannel/livechat room ({@code l}). */
  LIVECHAT,
  /** Anything newer the client does not know (discussions, teams of future versions…). */
  OTHER;

  /** Maps Rocket.Chat's {@code t}; unknown letters are {@link #OTHER}. */
  public static RoomType fromCode(String t) {
    if (t == null) {
      return OTHER;
    }
    return switch (t) {
      case "c" -> CHANNEL;
      case "p" -> PRIVATE_GROUP;
      case "d" -> DIRECT;
      case "l" -> LIVECHAT;
      default -> OTHER;
    };
  }
}
