"""Prepared answers of the scripted code model (standin.py): for each bench task a correct main.py with one example
for its own test, and for some tasks a wrong first attempt that its own test catches (the repair gets the correct
one). They prove the plumbing of the loop; they say nothing about a real model (run.sh against OLLAMA_URL does)."""

HEADER = "import json, sys\nargs = (json.load(sys.stdin).get('args') or '')\n"

SOLUTIONS = {
    "slugify": ("import re\nprint(re.sub(r'[^a-z0-9]+', '-', args.lower()).strip('-'))\n", "Big News!", "big-news"),
    "roman": ("n = int(args.strip())\nout = ''\nfor v, s in [(1000,'M'),(900,'CM'),(500,'D'),(400,'CD'),(100,'C'),"
              "(90,'XC'),(50,'L'),(40,'XL'),(10,'X'),(9,'IX'),(5,'V'),(4,'IV'),(1,'I')]:\n"
              "    while n >= v:\n        out += s\n        n -= v\nprint(out)\n", "1666", "MDCLXVI"),
    "wordcount": ("print(len(args.split()))\n", "a b c", "3"),
    "ctof": ("c = float(args.strip())\nprint(f'{c * 9 / 5 + 32:.1f}')\n", "100", "212.0"),
    "reverse": ("print(' '.join(reversed(args.split())))\n", "x y", "y x"),
    "palindrome": ("t = [c.lower() for c in args if c.isalnum()]\nprint('yes' if t == t[::-1] else 'no')\n",
                   "Racecar", "yes"),
    "vowels": ("print(sum(1 for c in args if c.lower() in 'aeiou'))\n", "banana", "3"),
    "caesar": ("def s(c):\n    if 'a' <= c <= 'z':\n        return chr((ord(c) - 97 + 3) % 26 + 97)\n"
               "    if 'A' <= c <= 'Z':\n        return chr((ord(c) - 65 + 3) % 26 + 65)\n    return c\n"
               "print(''.join(s(c) for c in args))\n", "Zoo", "Crr"),
    "digitsum": ("print(sum(int(c) for c in args.strip().lstrip('-')))\n", "99", "18"),
    "leapyear": ("y = int(args.strip())\nprint('yes' if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 'no')\n",
                 "1996", "yes"),
    "titlecase": ("print(' '.join(w[:1].upper() + w[1:].lower() for w in args.split()))\n", "aB cD", "Ab Cd"),
    "fizzbuzz": ("n = int(args.strip())\nprint('FizzBuzz' if n % 15 == 0 else 'Fizz' if n % 3 == 0 else 'Buzz' "
                 "if n % 5 == 0 else n)\n", "30", "FizzBuzz"),
}

# a first attempt with a bug its own test finds: the loop must repair it
WRONG_FIRST = {
    "roman": "print('I' * int(args.strip()))\n",
    "ctof": "c = float(args.strip())\nprint(f'{c * 5 / 9 + 32:.1f}')\n",
    "caesar": "print(args[::-1])\n",
}


def files(name, command, wrong=False):
    main, example, expected = SOLUTIONS[name]
    code = HEADER + (WRONG_FIRST[name] if wrong else main)
    test = ("import json, subprocess\n"
            f"out = subprocess.run(['python3', 'main.py'], input=json.dumps({{'args': {example!r}}}), "
            "capture_output=True, text=True).stdout.strip()\n"
            f"assert out == {expected!r}, 'expected ' + repr({expected!r}) + ' but main.py printed ' + repr(out)\n"
            "print('test passed')\n")
    manifest = f"name: {name}\ndescription: bench task {name}\ncommand: {command}\nrun: python3 main.py\n"
    return [{"path": "heyken.yml", "content": manifest}, {"path": "main.py", "content": code},
            {"path": "test_main.py", "content": test}]
