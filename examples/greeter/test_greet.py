"""Tests of the greeter: the function itself, and the program as Heyken runs it (JSON on stdin)."""
import json
import subprocess
import sys
import unittest

from greet import greet


class GreetTest(unittest.TestCase):

    def test_greets_the_name(self):
        self.assertEqual(greet("Ada"), "Hello, Ada!")

    def test_nobody_named_greets_the_world(self):
        self.assertEqual(greet(""), "Hello, world!")
        self.assertEqual(greet(None), "Hello, world!")

    def test_extra_spaces_are_dropped(self):
        self.assertEqual(greet("  Ada   Lovelace "), "Hello, Ada Lovelace!")

    def test_the_program_answers_an_invocation(self):
        out = subprocess.run([sys.executable, "greet.py"], input=json.dumps({"args": "Ada"}).encode(),
                             capture_output=True, check=True).stdout
        self.assertEqual(out, b"Hello, Ada!\n")


if __name__ == "__main__":
    unittest.main()
