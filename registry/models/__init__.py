"""Models by name, folder or hub location: building them, and describing what the zoo registers."""
