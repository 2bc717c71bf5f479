"""One module per `talkinghead` subcommand: add_arguments(parser) and run(args) -> int."""
