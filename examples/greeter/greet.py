"""The greeter feature: reads the invocation's JSON on stdin ({"args": "Ada"}) and prints the answer."""
import json
import sys


def greet(args):
    name = " ".join(str(args or "").split()) or "world"
    return "Hello, %s!" % name


def main():
    request = json.load(sys.stdin)
    print(greet(request.get("args")))


if __name__ == "__main__":
    main()
