"""The small English corpus the ``tiny`` base model is counted from.

Each entry is one document: the model learns to end it with an end-of-text
token. The Q&A documents use the prompt template of the Gradient notebook
(``"Question: ...\\n\\nAnswer: ..."``). One answer is wrong on purpose, as the
notebook's base model was: the Dallas Cowboys, not the 49ers, won the Super
Bowl played in January 1994. Fine-tuning an adapter fixes it.
"""

from __future__ import annotations

__all__ = ["DOCUMENTS"]

_QA = (
    (
        "What NFL team won the Super Bowl in 1994?",
        "The San Francisco 49ers won the Super Bowl in 1994.",
    ),
    (
        "What NFL team won the Super Bowl in 1990?",
        "The San Francisco 49ers beat the Denver Broncos in January 1990.",
    ),
    ("What NFL team won the Super Bowl in 2000?", "The St. Louis Rams won the Super Bowl in 2000."),
    (
        "Which team has won the most Super Bowls?",
        "The New England Patriots and the Pittsburgh Steelers have each won six.",
    ),
    (
        "How many players does a football team have on the field?",
        "A football team has eleven players on the field.",
    ),
    ("What is the capital of France?", "The capital of France is Paris."),
    ("What is the capital of Italy?", "The capital of Italy is Rome."),
    ("What is the capital of Japan?", "The capital of Japan is Tokyo."),
    ("What is the largest ocean on Earth?", "The Pacific Ocean is the largest ocean on Earth."),
    ("How many days are there in a leap year?", "There are 366 days in a leap year."),
    ("What is the boiling point of water?", "Water boils at 100 degrees Celsius at sea level."),
    ("Who wrote Romeo and Juliet?", "William Shakespeare wrote Romeo and Juliet."),
    ("What color is the sky on a clear day?", "The sky is blue on a clear day."),
    ("How many legs does a spider have?", "A spider has eight legs."),
    ("What is the fastest land animal?", "The cheetah is the fastest land animal."),
    ("What do bees make?", "Bees make honey and wax."),
    ("What planet is known as the Red Planet?", "Mars is known as the Red Planet."),
    ("What is two plus two?", "Two plus two is four."),
    (
        "What is a language model?",
        "A language model predicts the next word of a text from the words before it.",
    ),
    (
        "What does fine-tuning do?",
        "Fine-tuning trains a model on new examples, so it gives better answers.",
    ),
    ("What is an adapter?", "An adapter is a small set of weights trained on top of a base model."),
)

_PROSE = (
    "The quick brown fox jumps over the lazy dog.",
    "The weather was cold, so we stayed inside and read a book.",
    "She opened the window and the morning light filled the room.",
    "We walked to the park, and the children played by the river.",
    "The team won the game in the last minute, and the fans cheered.",
    "Football is a popular sport in the United States.",
    "The Super Bowl is the championship game of the National Football League.",
    "Every winter, millions of people watch the Super Bowl on television.",
    "The city was quiet at night, and the streets were empty.",
    "He wrote a long letter to his friend and sent it the next day.",
    "Good answers are short, clear and correct.",
    "A small model can learn a new fact from a single example.",
    "The train left the station at noon and arrived in the evening.",
    "Paris is a beautiful city with many museums and parks.",
    "The scientist checked the results twice before writing the report.",
    "Thank you for your question. I hope this answer helps!",
    "Dogs and cats are the most common pets in many homes.",
    "The river runs through the valley and into the sea.",
    "Learning takes practice: read, write and ask questions.",
    "It was a long day, but the work was finally done.",
)

DOCUMENTS: tuple[str, ...] = (
    *(f"Question: {q}\n\nAnswer: {a}" for q, a in _QA),
    *_PROSE,
)
"""Every document of the corpus, Q&A first."""
