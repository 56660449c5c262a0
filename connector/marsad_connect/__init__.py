"""marsad-connect: reads an operator's information system and sends its projects to Marsad.

It runs on the operator's premises, talks to the platform only over HTTP (the exchange API), and
keeps a local state file so that a crash at any point resumes without loss or duplication.
"""

__version__ = "0.1.0"
