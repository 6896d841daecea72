#!/usr/bin/env node
import '../src/installer/cli/main.ts';
