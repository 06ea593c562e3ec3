/** Registers every root field on the builder. */
import './node.js';
import './cluster.js';
import './lock.js';
