#!/usr/bin/env node
import '../src/installer/main.ts';
