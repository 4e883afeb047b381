"""`python -m stylegan_tf configs`: the named configs (rows A-F of Table 1 and the scales), or one resolved."""


def add_arguments(parser):
    parser.add_argument("name", nargs="?", help="a row (A-F) to print in full as JSON (default: print the table)")
    parser.add_argument("scale", nargs="?", default="official", help="the scale of that row (default: official)")


def run(args):
    from stylegan_tf.config import config_table, preset

    print(config_table() if args.name is None else preset(args.name, args.scale).to_json())
    return 0
